package dev.emperor.proxy.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AttributeKey;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * Writes one combined-log-format line per answered request, plus the request time in
 * seconds, to the tenant the router chose (requests that matched no tenant are not logged).
 */
final class AccessLogHandler extends ChannelDuplexHandler {

    /** Set by the router on the channel for the current request. */
    static final AttributeKey<String> TENANT = AttributeKey.valueOf("emperor.tenant");

    private static final DateTimeFormatter CLF_TIME =
            DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ROOT);

    private final AccessLog log;
    private String requestLine;
    private String referer;
    private String userAgent;
    private long startNanos;
    private ZonedDateTime startTime;
    private int status;
    private long bytes;

    AccessLogHandler(AccessLog log) {
        this.log = log;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest request) {
            requestLine = request.method() + " " + request.uri() + " " + request.protocolVersion();
            referer = request.headers().get(HttpHeaderNames.REFERER);
            userAgent = request.headers().get(HttpHeaderNames.USER_AGENT);
            startNanos = System.nanoTime();
            startTime = ZonedDateTime.now();
            status = 0;
            bytes = 0;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof HttpResponse response) {
            status = response.status().code();
        }
        if (msg instanceof HttpContent content) {
            bytes += content.content().readableBytes();
        }
        if (msg instanceof LastHttpContent && requestLine != null) {
            emit(ctx.channel());
        }
        ctx.write(msg, promise);
    }

    private void emit(Channel channel) {
        String tenant = channel.attr(TENANT).get();
        if (tenant != null) {
            double seconds = (System.nanoTime() - startNanos) / 1e9;
            log.log(tenant, String.format(Locale.ROOT, "%s - - [%s] \"%s\" %d %d \"%s\" \"%s\" %.3f",
                    clientIp(channel), CLF_TIME.format(startTime), escape(requestLine), status, bytes,
                    escape(referer), escape(userAgent), seconds));
        }
        requestLine = null;
    }

    static String clientIp(Channel channel) {
        // An HTTP/2 stream is a child channel; the client is its parent's peer.
        Channel connection = channel.parent() != null && !(channel.remoteAddress() instanceof InetSocketAddress)
                ? channel.parent() : channel;
        SocketAddress address = connection.remoteAddress();
        return address instanceof InetSocketAddress inet ? inet.getAddress().getHostAddress() : "-";
    }

    /** Keeps a log line one line: quotes, backslashes and control characters are escaped. */
    private static String escape(String value) {
        if (value == null) {
            return "-";
        }
        StringBuilder out = new StringBuilder(value.length());
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7f) {
                out.append(String.format(Locale.ROOT, "\\x%02x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
