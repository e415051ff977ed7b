package dev.emperor.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpResponseEncoder;

/**
 * The HTTP/1.1 client pipeline's encoder. Relayed responses arrive as bytes the forwarder has
 * already framed and go straight on; the proxy's own answers (error pages, redirects)
 * arrive as Netty HTTP objects and are encoded.
 */
final class ResponseEncoder extends HttpResponseEncoder {

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof ByteBuf) {
            ctx.write(msg, promise);
        } else {
            super.write(ctx, msg, promise);
        }
    }
}
