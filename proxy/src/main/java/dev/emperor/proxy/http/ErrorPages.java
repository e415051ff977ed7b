package dev.emperor.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/**
 * The proxy's own answers. Deliberately bland: they name the status and nothing else, so no
 * upstream address, tenant name or exception text ever reaches a client.
 */
final class ErrorPages {

    private ErrorPages() {
    }

    static FullHttpResponse page(HttpResponseStatus status) {
        String title = status.code() + " " + status.reasonPhrase();
        String html = "<!DOCTYPE html>\n<html><head><title>" + title + "</title></head>\n"
                + "<body><h1>" + title + "</h1><p>" + explanation(status.code()) + "</p></body></html>\n";
        return response(status, Unpooled.copiedBuffer(html, StandardCharsets.UTF_8), "text/html; charset=utf-8");
    }

    static FullHttpResponse text(HttpResponseStatus status, String body) {
        return response(status, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8), "text/plain; charset=utf-8");
    }

    /** Writes {@code response}; with {@code close} the connection (or HTTP/2 stream) ends after it. */
    static void send(ChannelHandlerContext ctx, FullHttpResponse response, boolean close) {
        if (close) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.writeAndFlush(response);
        }
    }

    private static FullHttpResponse response(HttpResponseStatus status, ByteBuf body, String type) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, type)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
                .set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        return response;
    }

    private static String explanation(int code) {
        return switch (code) {
            case 400 -> "The request could not be understood.";
            case 404 -> "No site is served under this name.";
            case 408 -> "The request was sent too slowly.";
            case 413 -> "The request body is too large.";
            case 414 -> "The request line is too long.";
            case 429 -> "Too many connections from your address. Please try again later.";
            case 431 -> "The request headers are too large.";
            case 502 -> "The site is not reachable right now.";
            case 503 -> "The site is unavailable right now. Please try again later.";
            case 504 -> "The site did not answer in time.";
            default -> "";
        };
    }
}
