package dev.emperor.proxy.http;

import dev.emperor.proxy.ClientConnections;
import dev.emperor.proxy.TenantTraffic;
import dev.emperor.proxy.l4.HalfClosedWatch;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * After a WebSocket upgrade: bytes one way, as they come, with back-pressure (this side stops
 * reading while the peer cannot keep up). One instance on each of the two connections.
 */
final class RawRelay extends ChannelInboundHandlerAdapter {

    private final Channel peer;
    /** The tenant's web bytes this way (TenantTraffic). */
    private final LongAdder bytes;

    RawRelay(Channel peer, LongAdder bytes) {
        this.peer = peer;
        this.bytes = bytes;
    }

    /**
     * After the app's 101 went to the client: the client connection and its upstream become a
     * byte relay. The upstream's {@link ResponseRelay} and the client's HTTP handlers (named
     * {@code httpHandlers}) leave, and reading resumes on both.
     */
    static void join(Channel client, Channel upstream, TenantTraffic.Counters traffic, List<String> httpHandlers) {
        ClientConnections.Client counted = ClientConnections.of(client);
        if (counted != null) {
            counted.busy(); // a WebSocket is never an idle keep-alive connection
        }
        ChannelPipeline up = upstream.pipeline();
        up.addLast("raw", new RawRelay(client, traffic.webBytesOut));
        up.remove(ResponseRelay.class);
        ChannelPipeline down = client.pipeline();
        down.addLast("raw", new RawRelay(upstream, traffic.webBytesIn));
        for (String name : httpHandlers) {
            if (down.get(name) != null) {
                down.remove(name);
            }
        }
        ReadPauses.resume(client, ReadPauses.PEER_BUSY | ReadPauses.PIPELINED | ReadPauses.CONNECTING);
        ReadPauses.resume(upstream, ReadPauses.PEER_BUSY);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof io.netty.buffer.ByteBuf)) {
            // Only bytes travel here; anything else is not for the peer.
            io.netty.util.ReferenceCountUtil.release(msg);
            return;
        }
        bytes.add(((io.netty.buffer.ByteBuf) msg).readableBytes());
        peer.write(msg);
        if (!peer.isWritable()) {
            ReadPauses.pause(ctx.channel(), ReadPauses.PEER_BUSY);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        peer.flush();
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            ReadPauses.resume(peer, ReadPauses.PEER_BUSY);
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (peer.isActive()) {
            peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /**
     * The client half-closed (FIN) a WebSocket or other upgraded connection: the app gets the
     * FIN too, after every byte before it, and may still answer; the pair closes when the app
     * closes (or the idle timeout passes). Only the client side allows half-closure; the
     * upstream's FIN closes both as before.
     */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (!(evt instanceof ChannelInputShutdownEvent)) {
            ctx.fireUserEventTriggered(evt);
            return;
        }
        if (!(peer instanceof DuplexChannel upstream)) {
            ctx.close();
            return;
        }
        HalfClosedWatch.keep(ctx.channel()); // the app's answer may have to wait for room
        upstream.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(written -> {
            if (written.isSuccess()) {
                upstream.shutdownOutput();
            } else {
                ctx.close();
            }
        });
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
