package dev.emperor.proxy.http;

import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Header rewriting between client and tenant: hop-by-hop headers stop at the proxy, the
 * X-Forwarded-* set is the proxy's own (a client's values are dropped, never trusted), and
 * every message leaves with exactly one framing the proxy chose itself.
 *
 * <p>Each message is rewritten in one pass that copies only the headers that go on, into
 * headers that skip validation: every name and value was validated when it was parsed.
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

    private static final HttpHeadersFactory UNVALIDATED = DefaultHttpHeadersFactory.headersFactory().withValidation(false);

    private static final AsciiString X_FORWARDED_FOR = AsciiString.of("X-Forwarded-For");
    private static final AsciiString X_REAL_IP = AsciiString.of("X-Real-IP");
    private static final AsciiString X_FORWARDED_PROTO = AsciiString.of("X-Forwarded-Proto");
    private static final AsciiString X_FORWARDED_HOST = AsciiString.of("X-Forwarded-Host");
    private static final AsciiString HTTPS = AsciiString.of("https");
    private static final AsciiString HTTP = AsciiString.of("http");

    private ForwardedHeaders() {
    }

    /** True for a WebSocket handshake the proxy will relay. */
    static boolean isWebSocketUpgrade(HttpRequest request) {
        return request.protocolVersion().equals(HttpVersion.HTTP_1_1)
                && request.headers().containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)
                && request.headers().containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true);
    }

    /**
     * The request as sent upstream: HTTP/1.1 keep-alive, with a Content-Length equal to what
     * the decoder will deliver, or chunked (re-encoded by the proxy), or no body at all.
     */
    static HttpRequest upstreamRequest(HttpRequest request, String clientIp, boolean overTls, boolean webSocket) {
        HttpHeaders in = request.headers();
        List<String> named = connectionNamed(in);
        HttpHeaders headers = UNVALIDATED.newHeaders();
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = in.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> header = it.next();
            CharSequence name = header.getKey();
            if (!isOneOf(name, HOP_BY_HOP) && !isOneOf(name, NOT_FORWARDED) && !isHttp2Internal(name)
                    && !isNamed(name, named)) {
                headers.add(name, header.getValue());
            }
        }
        if (HttpUtil.isTransferEncodingChunked(request)) {
            headers.add(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        } else {
            String contentLength = in.get(HttpHeaderNames.CONTENT_LENGTH);
            if (contentLength != null) {
                headers.add(HttpHeaderNames.CONTENT_LENGTH, contentLength);
            }
        }
        if (webSocket) {
            headers.add(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
            headers.add(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET);
        }
        String host = in.get(HttpHeaderNames.HOST);
        headers.add(X_FORWARDED_FOR, clientIp);
        headers.add(X_REAL_IP, clientIp);
        headers.add(X_FORWARDED_PROTO, overTls ? HTTPS : HTTP);
        if (host != null) {
            headers.add(X_FORWARDED_HOST, host);
        }
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, request.method(), request.uri(), headers);
    }

    /**
     * The response as sent to the client: hop-by-hop headers gone; a body without a length
     * goes out chunked (HTTP/1.1) so the client connection can stay open.
     */
    static HttpResponse clientResponse(HttpResponse response, HttpVersion clientVersion, boolean webSocket) {
        HttpHeaders in = response.headers();
        boolean hadChunked = HttpUtil.isTransferEncodingChunked(response);
        List<String> named = connectionNamed(in);
        HttpHeaders headers = UNVALIDATED.newHeaders();
        boolean hasLength = false;
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = in.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> header = it.next();
            CharSequence name = header.getKey();
            if (isOneOf(name, HOP_BY_HOP) || isNamed(name, named)) {
                continue;
            }
            boolean length = AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.CONTENT_LENGTH);
            if (length && hadChunked) {
                continue;
            }
            hasLength |= length;
            headers.add(name, header.getValue());
        }
        if (webSocket) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
            headers.set(HttpHeaderNames.UPGRADE, in.get(HttpHeaderNames.UPGRADE, "websocket"));
            return new DefaultHttpResponse(HttpVersion.HTTP_1_1, response.status(), headers);
        }
        int code = response.status().code();
        boolean bodyless = code == 204 || code == 304 || code < 200;
        if (!bodyless && !hasLength) {
            if (clientVersion.equals(HttpVersion.HTTP_1_1)) {
                headers.add(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            } else {
                headers.add(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE); // body ends at close
            }
        }
        return new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(code,
                response.status().reasonPhrase()), headers);
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

    private static boolean isHttp2Internal(CharSequence name) {
        return name.length() > HTTP2_INTERNAL.length()
                && AsciiString.regionMatches(name, true, 0, HTTP2_INTERNAL, 0, HTTP2_INTERNAL.length());
    }
}
