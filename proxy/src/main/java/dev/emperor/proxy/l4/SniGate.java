package dev.emperor.proxy.l4;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * TLS passthrough: holds a new client until its ClientHello shows a server name the tenant
 * owns, then hands the client (and every byte read so far, unchanged) to the upstream.
 * Anything else (no name, a foreign name, not TLS, too slow, too big) is closed at once: the
 * tenant's port must not become a way to reach it under another tenant's name.
 */
final class SniGate extends ChannelInboundHandlerAdapter {

    private final Forward forward;
    private final ForwardOptions options;
    private ByteBuf peeked;
    private ScheduledFuture<?> deadline;

    SniGate(Forward forward) {
        this.forward = forward;
        this.options = forward.options; // the rules this client started under
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        peeked = ctx.alloc().buffer(512);
        long millis = options.helloTimeout().toMillis();
        deadline = ctx.executor().schedule(() -> refuse(ctx), millis, TimeUnit.MILLISECONDS);
        ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        try {
            if (peeked == null) {
                return; // already decided
            }
            peeked.writeBytes(in);
        } finally {
            in.release();
        }
        if (peeked.readableBytes() > options.maxHelloBytes()) {
            refuse(ctx);
            return;
        }
        ClientHelloSni.Result hello = ClientHelloSni.parse(peeked);
        switch (hello.status()) {
            case NEED_MORE -> { } // channelReadComplete asks for more
            case FOUND -> {
                if (options.allows(hello.serverName())) {
                    pass(ctx);
                } else {
                    refuse(ctx);
                }
            }
            case NO_SNI, INVALID -> refuse(ctx);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (peeked != null) {
            ctx.read(); // still waiting for the rest of the ClientHello
        }
    }

    private void pass(ChannelHandlerContext ctx) {
        deadline.cancel(false);
        ByteBuf hello = peeked;
        peeked = null;
        ctx.pipeline().remove(this);
        ctx.fireChannelRead(hello); // to the client's relay, which holds it for the upstream
        UpstreamConnector.connect(ctx.channel(), forward);
    }

    private void refuse(ChannelHandlerContext ctx) {
        if (peeked != null) {
            forward.refused.increment();
            discard();
            ctx.close();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            refuse(ctx); // the client stopped sending before its ClientHello was complete
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        discard();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        discard();
        ctx.close();
    }

    private void discard() {
        if (deadline != null) {
            deadline.cancel(false);
        }
        if (peeked != null) {
            peeked.release();
            peeked = null;
        }
    }
}
