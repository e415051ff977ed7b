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
import java.time.Instant;
import java.time.ZoneId;
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
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private final AccessLog log;
    /** The client's address as text, worked out once per connection (or stream). */
    private String clientIp;
    private String requestLine;
    private String referer;
    private String userAgent;
    private long startNanos;
    private long startMillis;
    private int status;
    private long bytes;

    AccessLogHandler(AccessLog log) {
        this.log = log;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest request) {
            requestLine = request.method().name() + " " + request.uri() + " " + request.protocolVersion().text();
            referer = request.headers().get(HttpHeaderNames.REFERER);
            userAgent = request.headers().get(HttpHeaderNames.USER_AGENT);
            startNanos = System.nanoTime();
            startMillis = System.currentTimeMillis();
            status = 0;
            bytes = 0;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ResponseEnd end) {
            // A relayed HTTP/1.1 response, written as bytes: its end says what it was.
            status = end.status();
            bytes = end.bodyBytes();
            if (requestLine != null) {
                emit(ctx.channel());
            }
        } else if (msg instanceof HttpResponse response) {
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
            // Built by hand: String.format and a DateTimeFormatter per request were a tenth
            // of the proxy's CPU under load.
            long micros = (System.nanoTime() - startNanos) / 1000;
            if (clientIp == null) {
                clientIp = clientIp(channel);
            }
            StringBuilder line = new StringBuilder(160).append(clientIp).append(" - - [")
                    .append(ClfClock.format(startMillis)).append("] \"");
            escape(line, requestLine);
            line.append("\" ").append(status).append(' ').append(bytes).append(" \"");
            escape(line, referer);
            line.append("\" \"");
            escape(line, userAgent);
            line.append("\" ").append(micros / 1_000_000).append('.');
            long millis = micros / 1000 % 1000;
            line.append((char) ('0' + millis / 100)).append((char) ('0' + millis / 10 % 10)).append((char) ('0' + millis % 10));
            log.log(tenant, line.toString());
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
    private static void escape(StringBuilder out, String value) {
        if (value == null) {
            out.append('-');
            return;
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7f) {
                out.append("\\x").append(HEX[c >> 4]).append(HEX[c & 0xf]);
            } else {
                out.append(c);
            }
        }
    }

    /** The CLF timestamp, formatted once per second rather than once per request. */
    private static final class ClfClock {
        private record Second(long epochSecond, String text) {
        }

        private static volatile Second last = new Second(Long.MIN_VALUE, "");

        static String format(long epochMillis) {
            long second = Math.floorDiv(epochMillis, 1000);
            Second cached = last;
            if (cached.epochSecond() != second) {
                cached = new Second(second, CLF_TIME.format(ZonedDateTime.ofInstant(
                        Instant.ofEpochSecond(second), ZoneId.systemDefault())));
                last = cached;
            }
            return cached.text();
        }
    }
}
