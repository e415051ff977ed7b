package dev.emperor.proxy.l4;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.unix.Socket;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * Moves bytes read on one channel to its peer (one relay per direction).
 *
 * <p>Both channels run with auto-read off and live on the same event loop, so there is no
 * locking: a side reads again only once its peer can take more (its outbound buffer is under
 * the high-water mark); when the peer drains, the peer's relay asks this side to read again.
 * A slow reader therefore slows the writer down instead of filling the emperor's memory.
 *
 * <p>A FIN on one side becomes a FIN on the other (after what was read is written), so
 * protocols that half-close (e.g. a client that sends a request then shuts its output) work;
 * the pair is closed once both directions have ended or either side closes for good.
 *
 * <p>The client's relay exists before its upstream does: epoll reads a socket on hang-up even
 * with auto-read off, so a client that sends and closes at once would otherwise lose its
 * bytes. Those are held (at most one socket receive buffer's worth: the client sent FIN) and
 * passed on in {@link #attach}.
 */
final class Relay extends ChannelInboundHandlerAdapter {

    /**
     * Read sizes for both sides of a forward: they grow with the stream up to 256 KiB (Netty's
     * default stops at 64 KiB). A bulk stream then costs far fewer reads, writes and pipeline
     * passes per byte: `tests/bench/l4-vs-haproxy` went from 13.8 to 21.4 Gbit/s and from 543
     * to 304 ms of proxy CPU per GB. A quiet connection keeps small buffers; a busy one holds
     * at most one read beyond its peer's write-buffer high-water mark.
     */
    static final RecvByteBufAllocator READS = new AdaptiveRecvByteBufAllocator(64, 16 * 1024, 256 * 1024);

    private final LongAdder bytes;
    /** The same bytes in the tenant's counters (TenantTraffic), which outlive the forward. */
    private final LongAdder tenantBytes;
    private Channel peer;
    private ChannelHandlerContext ctx;
    private List<Object> early = new ArrayList<>();
    private boolean inputEndedEarly;

    /** @param peer where the bytes go; null until {@link #attach} (the client's side) */
    Relay(Channel peer, LongAdder bytes, LongAdder tenantBytes) {
        this.peer = peer;
        this.bytes = bytes;
        this.tenantBytes = tenantBytes;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /** Connects the client's relay to its now-connected upstream; on the event loop. */
    void attach(Channel upstream) {
        peer = upstream;
        for (Object msg : early) {
            forward(msg);
        }
        early = null;
        peer.flush();
        if (inputEndedEarly) {
            inputEnded(ctx);
        } else {
            ctx.read();
        }
    }

    private void forward(Object msg) {
        if (msg instanceof ByteBuf buf) {
            int length = buf.readableBytes();
            bytes.add(length);
            tenantBytes.add(length);
        }
        peer.write(msg, peer.voidPromise());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (peer == null) {
            early.add(msg);
        } else {
            forward(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (peer == null) {
            return;
        }
        peer.flush();
        if (peer.isWritable()) {
            ctx.read();
        } // else: the peer's relay calls read() on us when the peer becomes writable
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (peer != null && ctx.channel().isWritable() && !inputShutdown(peer)) {
            peer.read(); // we drained: the side that writes into us may read again
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (!(evt instanceof ChannelInputShutdownEvent)) {
            ctx.fireUserEventTriggered(evt);
            return;
        }
        if (!outputShutdown(ctx.channel())) {
            HalfClosedWatch.keep(ctx.channel()); // the peer may still have a lot to say to this side
        }
        if (peer == null) {
            inputEndedEarly = true;
        } else {
            inputEnded(ctx);
        }
    }

    /**
     * This side sent FIN: pass it on once every byte read from this side has left for the peer.
     * The other direction goes on until it ends too; the pair is closed when both have.
     */
    private void inputEnded(ChannelHandlerContext ctx) {
        Channel from = ctx.channel();
        Channel to = peer;
        to.flush();
        ChannelOutboundBuffer queued = to.unsafe().outboundBuffer();
        if (queued != null && queued.isEmpty()) {
            endDelivered(from, to); // the usual case: everything is in the peer's socket already
            return;
        }
        // The empty write completes only after everything queued before it has been written, so
        // the FIN (or the close) never overtakes data.
        to.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(flushed -> {
            if (!flushed.isSuccess() || !to.isActive()) {
                closeBoth(from, to);
            } else {
                endDelivered(from, to);
            }
        });
    }

    /**
     * Everything {@code from} sent is in {@code to}'s socket: send {@code to} a FIN, or close both
     * if the other direction had ended already.
     *
     * <p>The FIN goes straight to the socket: Netty's shutdownOutput() builds an exception with a
     * stack trace on every call (to fail writes still queued, and none are), which showed in the
     * connection-rate profile. The socket records the shutdown, so Netty's channel sees it too.
     */
    private static void endDelivered(Channel from, Channel to) {
        if (outputShutdown(from)) {
            closeBoth(from, to); // the other direction ended and was delivered before: all done
            return;
        }
        try {
            ((Socket) ((UnixChannel) to).fd()).shutdown(false, true);
        } catch (IOException | RuntimeException e) {
            closeBoth(from, to); // reset or closed meanwhile
            return;
        }
        // When `to` ends too, the pair is done: let Netty close it on that FIN instead of
        // half-closing it first. Its half-close would shut down a socket the kernel has already
        // closed (ENOTCONN), for which Netty builds an exception with a stack trace, and it is
        // the usual last step of every connection.
        to.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, false);
    }

    private static boolean inputShutdown(Channel channel) {
        return channel instanceof DuplexChannel duplex && duplex.isInputShutdown();
    }

    private static boolean outputShutdown(Channel channel) {
        return channel instanceof DuplexChannel duplex && duplex.isOutputShutdown();
    }

    private static void closeBoth(Channel a, Channel b) {
        a.close();
        b.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (peer == null) {
            releaseEarly();
            return; // the connector sees the client gone when its connect completes
        }
        if (!peer.isActive()) {
            return;
        }
        if (outputShutdown(peer)) {
            peer.close();
        } else {
            // Deliver what was already read, then close the other side too.
            peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseEarly();
    }

    private void releaseEarly() {
        if (early != null) {
            early.forEach(ReferenceCountUtil::release);
            early.clear();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A reset or a failed write on either side ends the pair; nothing to report to anyone.
        ctx.close();
        if (peer != null) {
            peer.close();
        }
    }
}
