package dev.emperor.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;

/**
 * Responses to an HTTP/2 stream, as Netty HTTP objects for the stream's codec (which frames
 * them and tells the access log through the pipeline): the head built from the app's, the
 * body without chunk framing. Flow control may hold a response back with the socket idle, so
 * whenever the stream stops taking bytes, and at the end, {@link StalledStreamGuard} looks.
 */
final class Http2ResponseWriter implements ResponseWriter {

    private final ChannelHandlerContext ctx;

    /** Writes through {@code ctx}, the Forwarder's context on the stream channel. */
    Http2ResponseWriter(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public boolean upgradable(HttpRequest request) {
        return false; // HTTP/2 has no Upgrade (WebSockets over it need RFC 8441, not offered)
    }

    @Override
    public void begin(HttpRequest request, boolean bodyOwed) {
        // No 100 Continue on a stream (the proxy never sent one there): a client that
        // waits for it sends the body after its own wait.
    }

    @Override
    public boolean payloadOnly() {
        return true; // DATA frames carry the body
    }

    @Override
    public boolean head(ResponseHead head, ResponseHead.Framing framing, ByteBuf arrivedIn) {
        ctx.write(head.toHttpResponse());
        return false;
    }

    @Override
    public boolean body(ByteBuf bytes) {
        ctx.write(new DefaultHttpContent(bytes));
        return true;
    }

    @Override
    public void flushBlocked() {
        ctx.flush();
        StalledStreamGuard.check(ctx.channel()); // flow control may be what holds it
    }

    @Override
    public void upstreamReadComplete() {
        ctx.flush();
    }

    @Override
    public void end(int status, long payloadBytes) {
        ctx.write(LastHttpContent.EMPTY_LAST_CONTENT);
        ctx.flush();
        StalledStreamGuard.check(ctx.channel()); // the tail may wait on a window the client keeps shut
    }

    @Override
    public boolean closeAfter() {
        return false; // a stream ends with its response; the connection goes on
    }

    @Override
    public void abandon() {
        // Nothing is held back: every piece was written as it came.
    }

    @Override
    public void switched(ResponseHead head) {
        throw new IllegalStateException("an HTTP/2 stream is never upgradable");
    }
}
