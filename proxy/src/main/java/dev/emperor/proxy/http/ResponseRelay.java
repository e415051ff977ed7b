package dev.emperor.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/**
 * The upstream side of an exchange: reads what the tenant's app answers, as bytes, with a
 * {@link ResponseParser}, and hands the response to the client-side {@link Forwarder}
 * exchange currently bound to this connection. An unbound (pooled, idle) connection that
 * receives anything is out of step with HTTP and is closed.
 */
final class ResponseRelay extends ChannelInboundHandlerAdapter {

    private final ResponseParser parser = new ResponseParser();
    private Forwarder.Exchange exchange;

    /** The next response belongs to {@code exchange}; see {@link ResponseParser#expect}. */
    void bind(Forwarder.Exchange exchange, boolean headRequest, boolean payloadOnly) {
        this.exchange = exchange;
        parser.expect(exchange, headRequest, payloadOnly);
    }

    void unbind() {
        this.exchange = null;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (exchange == null || !(msg instanceof ByteBuf in)) {
            ReferenceCountUtil.release(msg);
            ctx.close();
            return;
        }
        Forwarder.Exchange bound = exchange; // a 101 unbinds it inside feed
        try {
            parser.feed(in);
            if (parser.upgraded() && in.isReadable()) {
                bound.afterSwitch(in.retain()); // the app spoke first after its 101
            }
        } finally {
            in.release();
        }
        if (parser.failed()) {
            ctx.close();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (exchange != null) {
            exchange.upstreamReadComplete();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (exchange != null) {
            exchange.upstreamWritabilityChanged(ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (exchange != null) {
            parser.inputClosed();
        }
        if (exchange != null) {
            exchange.upstreamClosed();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close(); // the exchange sees the close; the cause may name internals, so it stays here
    }
}
