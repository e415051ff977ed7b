package dev.emperor.proxy.http;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Header rewriting between client and tenant: hop-by-hop headers stop at the proxy, the
 * X-Forwarded-* set is the proxy's own (a client's values are dropped, never trusted), and
 * every message leaves with exactly one framing the proxy chose itself.
 */
final class ForwardedHeaders {

    private static final List<CharSequence> HOP_BY_HOP = List.of(
            HttpHeaderNames.CONNECTION, HttpHeaderNames.KEEP_ALIVE, HttpHeaderNames.PROXY_CONNECTION,
            HttpHeaderNames.TE, HttpHeaderNames.TRAILER, HttpHeaderNames.TRANSFER_ENCODING,
            HttpHeaderNames.UPGRADE, HttpHeaderNames.PROXY_AUTHENTICATE, HttpHeaderNames.PROXY_AUTHORIZATION);

    private static final List<String> CLIENT_CLAIMS = List.of(
            "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port",
            "x-real-ip", "forwarded");

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
        HttpHeaders headers = request.headers().copy();
        boolean chunked = HttpUtil.isTransferEncodingChunked(request);
        String contentLength = headers.get(HttpHeaderNames.CONTENT_LENGTH);
        removeHopByHop(headers);
        CLIENT_CLAIMS.forEach(headers::remove);
        headers.remove(HttpHeaderNames.CONTENT_LENGTH);
        headers.remove(HttpHeaderNames.EXPECT); // answered by the proxy already
        if (chunked) {
            headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        } else if (contentLength != null) {
            headers.set(HttpHeaderNames.CONTENT_LENGTH, contentLength);
        }
        if (webSocket) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
            headers.set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET);
        }
        String host = request.headers().get(HttpHeaderNames.HOST);
        headers.set("X-Forwarded-For", clientIp);
        headers.set("X-Real-IP", clientIp);
        headers.set("X-Forwarded-Proto", overTls ? "https" : "http");
        if (host != null) {
            headers.set("X-Forwarded-Host", host);
        }
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, request.method(), request.uri(), headers);
    }

    /**
     * The response as sent to the client: hop-by-hop headers gone; a body without a length
     * goes out chunked (HTTP/1.1) so the client connection can stay open.
     */
    static HttpResponse clientResponse(HttpResponse response, HttpVersion clientVersion, boolean webSocket) {
        HttpHeaders headers = response.headers().copy();
        boolean hadChunked = HttpUtil.isTransferEncodingChunked(response);
        removeHopByHop(headers);
        if (webSocket) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
            headers.set(HttpHeaderNames.UPGRADE, response.headers().get(HttpHeaderNames.UPGRADE, "websocket"));
            return new DefaultHttpResponse(HttpVersion.HTTP_1_1, response.status(), headers);
        }
        int code = response.status().code();
        boolean bodyless = code == 204 || code == 304 || code < 200;
        if (hadChunked) {
            headers.remove(HttpHeaderNames.CONTENT_LENGTH);
        }
        if (!bodyless && !headers.contains(HttpHeaderNames.CONTENT_LENGTH)) {
            if (clientVersion.equals(HttpVersion.HTTP_1_1)) {
                headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            } else {
                headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE); // body ends at close
            }
        }
        return new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(code,
                response.status().reasonPhrase()), headers);
    }

    private static void removeHopByHop(HttpHeaders headers) {
        // Headers the sender named in Connection are hop-by-hop too (RFC 9110 7.6.1).
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
        named.forEach(headers::remove);
        HOP_BY_HOP.forEach(headers::remove);
    }
}
