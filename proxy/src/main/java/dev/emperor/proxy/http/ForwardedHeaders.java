package dev.emperor.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Request header rewriting from client to tenant: hop-by-hop headers stop at the proxy, the
 * X-Forwarded-* set is the proxy's own (a client's values are dropped, never trusted, and so
 * are names with '_', which apps read as the same headers: {@link #hasUnderscore}), and
 * the request leaves with exactly one framing the proxy chose itself. (Responses:
 * {@link ResponseHead}.)
 *
 * <p>The head is written in one pass straight into bytes, copying only the headers that go
 * on without validating them again: every name and value was validated when it was parsed.
 */
final class ForwardedHeaders {

    private static final AsciiString[] HOP_BY_HOP = {
            HttpHeaderNames.CONNECTION, HttpHeaderNames.KEEP_ALIVE, HttpHeaderNames.PROXY_CONNECTION,
            HttpHeaderNames.TE, HttpHeaderNames.TRAILER, HttpHeaderNames.TRANSFER_ENCODING,
            HttpHeaderNames.UPGRADE, HttpHeaderNames.PROXY_AUTHENTICATE, HttpHeaderNames.PROXY_AUTHORIZATION};

    /**
     * Request headers the proxy drops on top of the hop-by-hop ones: what a client could claim
     * about itself, the framing the proxy sets itself, and Expect (the proxy answered it).
     */
    private static final AsciiString[] NOT_FORWARDED = {
            AsciiString.of("x-forwarded-for"), AsciiString.of("x-forwarded-proto"), AsciiString.of("x-forwarded-host"),
            AsciiString.of("x-forwarded-port"), AsciiString.of("x-real-ip"), AsciiString.of("forwarded"),
            HttpHeaderNames.CONTENT_LENGTH, HttpHeaderNames.EXPECT};

    /**
     * Netty's HTTP/2 to HTTP/1 conversion records stream details as x-http2-* headers
     * (scheme, stream id, ...): internal to the proxy, never the app's business.
     */
    private static final AsciiString HTTP2_INTERNAL = AsciiString.of("x-http2-");

    private static final AsciiString X_FORWARDED_FOR = AsciiString.of("X-Forwarded-For");
    private static final AsciiString X_REAL_IP = AsciiString.of("X-Real-IP");
    private static final AsciiString X_FORWARDED_PROTO = AsciiString.of("X-Forwarded-Proto");
    private static final AsciiString X_FORWARDED_HOST = AsciiString.of("X-Forwarded-Host");
    private static final AsciiString HTTPS = AsciiString.of("https");
    private static final AsciiString HTTP = AsciiString.of("http");
    private static final byte[] HTTP11_CRLF = " HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] COLON_SPACE = {':', ' '};

    private ForwardedHeaders() {
    }

    /** True for a WebSocket handshake the proxy will relay. */
    static boolean isWebSocketUpgrade(HttpRequest request) {
        return request.protocolVersion().equals(HttpVersion.HTTP_1_1)
                && request.headers().containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)
                && request.headers().containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true);
    }

    /**
     * The request head as sent upstream, written straight into bytes: HTTP/1.1 keep-alive,
     * with a Content-Length equal to what the decoder will deliver, or chunked (framed by the
     * proxy, see {@link #upstreamChunked}), or no body at all.
     */
    static ByteBuf upstreamHead(ByteBufAllocator alloc, HttpRequest request, String clientIp, boolean overTls,
                                boolean webSocket, boolean underscoresAllowed) {
        HttpHeaders in = request.headers();
        List<String> named = connectionNamed(in);
        HeadBytes out = HeadBytes.start();
        out.add(request.method().asciiName()).add(' ').addUtf8(request.uri()).add(HTTP11_CRLF);
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = in.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> header = it.next();
            CharSequence name = header.getKey();
            if (!isOneOf(name, HOP_BY_HOP) && !isOneOf(name, NOT_FORWARDED) && !isHttp2Internal(name)
                    && !isNamed(name, named) && (underscoresAllowed || !hasUnderscore(name))) {
                field(out, name, header.getValue());
            }
        }
        if (upstreamChunked(request)) {
            field(out, HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        } else {
            CharSequence contentLength = in.get(HttpHeaderNames.CONTENT_LENGTH);
            if (contentLength != null) {
                field(out, HttpHeaderNames.CONTENT_LENGTH, contentLength);
            }
        }
        if (webSocket) {
            field(out, HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
            field(out, HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET);
        }
        CharSequence host = in.get(HttpHeaderNames.HOST);
        field(out, X_FORWARDED_FOR, clientIp);
        field(out, X_REAL_IP, clientIp);
        field(out, X_FORWARDED_PROTO, overTls ? HTTPS : HTTP);
        if (host != null) {
            field(out, X_FORWARDED_HOST, host);
        }
        return out.add(CRLF).toBuffer(alloc);
    }

    /** The request body goes up chunked (the proxy writes the chunk framing itself). */
    static boolean upstreamChunked(HttpRequest request) {
        return HttpUtil.isTransferEncodingChunked(request);
    }

    private static void field(HeadBytes out, CharSequence name, CharSequence value) {
        out.add(name).add(COLON_SPACE).add(value).add(CRLF);
    }

    /**
     * Header names the sender listed in Connection: hop-by-hop too (RFC 9110 7.6.1); empty
     * (and allocation-free) when there is no Connection header, the usual case.
     */
    private static List<String> connectionNamed(HttpHeaders headers) {
        if (!headers.contains(HttpHeaderNames.CONNECTION)) {
            return List.of();
        }
        List<String> named = new ArrayList<>();
        for (String value : headers.getAll(HttpHeaderNames.CONNECTION)) {
            for (String token : value.split(",")) {
                String name = token.trim().toLowerCase(Locale.ROOT);
                // A client must not be able to strip the headers routing and framing rely on.
                if (!name.isEmpty() && !name.equals("host") && !name.equals("content-length")) {
                    named.add(name);
                }
            }
        }
        return named;
    }

    private static boolean isOneOf(CharSequence name, AsciiString[] names) {
        for (AsciiString candidate : names) {
            if (candidate.length() == name.length() && candidate.contentEqualsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isNamed(CharSequence name, List<String> named) {
        for (int i = 0; i < named.size(); i++) {
            if (AsciiString.contentEqualsIgnoreCase(name, named.get(i))) {
                return true;
            }
        }
        return false;
    }

    /**
     * CGI, PHP, WSGI and Rack turn both '-' and '_' into '_' ({@code HTTP_X_FORWARDED_FOR}), so
     * a client's {@code X_Forwarded_For} would reach the app under the name of the proxy's own
     * header, and often ahead of it. Like nginx ({@code underscores_in_headers off}) such names
     * are dropped unless the operator allows them.
     */
    static boolean hasUnderscore(CharSequence name) {
        for (int i = 0; i < name.length(); i++) {
            if (name.charAt(i) == '_') {
                return true;
            }
        }
        return false;
    }

    private static boolean isHttp2Internal(CharSequence name) {
        return name.length() > HTTP2_INTERNAL.length()
                && AsciiString.regionMatches(name, true, 0, HTTP2_INTERNAL, 0, HTTP2_INTERNAL.length());
    }
}
