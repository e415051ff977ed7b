package dev.emperor.proxy.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import java.util.Iterator;
import java.util.List;

/**
 * Refuses requests that two HTTP parsers could read differently, so nothing ambiguous is
 * ever forwarded: whatever the decoder flagged (bad framing, bad chunk, bad header), plus
 * what it lets through: several Host headers, a transfer coding other than plain
 * {@code chunked}, targets that are not a path, CONNECT. A refused request closes the
 * connection: after a framing error nobody knows where the next request would start.
 */
final class RequestGuard extends ChannelInboundHandlerAdapter {

    /** Fired downstream when a body turns out malformed halfway (the head was forwarded). */
    static final Object BAD_BODY = new Object() {
        @Override
        public String toString() {
            return "BAD_BODY";
        }
    };

    private final boolean http2Stream;
    private boolean refused;

    RequestGuard(boolean http2Stream) {
        this.http2Stream = http2Stream;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (refused) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpRequest request) {
            HttpResponseStatus problem = problem(request);
            if (problem != null) {
                refused = true;
                ReferenceCountUtil.release(msg);
                ErrorPages.send(ctx, ErrorPages.page(problem), true);
                return;
            }
        } else if (msg instanceof HttpContent content && content.decoderResult().isFailure()) {
            refused = true;
            ReferenceCountUtil.release(msg);
            ctx.fireUserEventTriggered(BAD_BODY);
            return;
        }
        ctx.fireChannelRead(msg);
    }

    private static int count(HttpHeaders headers, CharSequence name) {
        int count = 0;
        for (Iterator<String> values = headers.valueStringIterator(name); values.hasNext(); values.next()) {
            count++;
        }
        return count;
    }

    private HttpResponseStatus problem(HttpRequest request) {
        if (request.decoderResult().isFailure()) {
            Throwable cause = request.decoderResult().cause();
            if (cause instanceof TooLongHttpHeaderException) {
                return HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE;
            }
            if (cause instanceof TooLongHttpLineException) {
                return HttpResponseStatus.REQUEST_URI_TOO_LONG;
            }
            if (cause instanceof TooLongFrameException) {
                return HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE;
            }
            return HttpResponseStatus.BAD_REQUEST;
        }
        HttpHeaders headers = request.headers();
        int hosts = count(headers, HttpHeaderNames.HOST);
        if (hosts > 1 || (hosts == 0 && request.protocolVersion() != HttpVersion.HTTP_1_0 && !http2Stream)) {
            return HttpResponseStatus.BAD_REQUEST;
        }
        if (headers.contains(HttpHeaderNames.TRANSFER_ENCODING)) { // rare: no list made otherwise
            List<String> codings = headers.getAll(HttpHeaderNames.TRANSFER_ENCODING);
            if (codings.size() > 1 || !codings.get(0).equalsIgnoreCase("chunked")) {
                return HttpResponseStatus.BAD_REQUEST;
            }
        }
        if (request.method() == HttpMethod.CONNECT) {
            return HttpResponseStatus.BAD_REQUEST;
        }
        String target = request.uri();
        boolean originForm = target.startsWith("/");
        boolean asterisk = target.equals("*") && request.method() == HttpMethod.OPTIONS;
        // Absolute-form ("GET http://other/ HTTP/1.1") would let the URI and Host disagree.
        if (!originForm && !asterisk) {
            return HttpResponseStatus.BAD_REQUEST;
        }
        return null;
    }
}
