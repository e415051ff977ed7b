package dev.emperor.proxy.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
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

    private static final DateTimeFormatter CLF_TIME =
            DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ROOT);

    private final AccessLog log;
    private ChannelHandlerContext ctx;
    /** The client's address as text, worked out once per connection (or stream). */
    private String clientIp;
    /** The request being answered (null once logged); its line is only put together in the log. */
    private HttpRequest request;
    /** The tenant the router chose for the current request, or null (not logged). */
    private String tenant;
    private long startNanos;
    /** "HTTP/2.0" on an HTTP/2 stream, else null: the request's own version is written. */
    private String protocol;
    private int status;
    private long bytes;

    AccessLogHandler(AccessLog log) {
        this.log = log;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest request) {
            this.request = request;
            tenant = null;
            startNanos = System.nanoTime(); // the one clock read at the start (ClfClock)
            status = 0;
            bytes = 0;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        // An HTTP/2 stream's request reaches this handler translated into an HTTP/1.1 object.
        this.protocol = ctx.channel() instanceof Http2StreamChannel ? "HTTP/2.0" : null;
    }

    /** A relayed HTTP/1.1 response (written as bytes, which say nothing here) is written whole. */
    void responseWritten(int status, long bodyBytes) {
        this.status = status;
        this.bytes = bodyBytes;
        if (request != null) {
            emit();
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof HttpResponse response) {
            status = response.status().code();
        }
        if (msg instanceof HttpContent content) {
            bytes += content.content().readableBytes();
        }
        if (msg instanceof LastHttpContent && request != null) {
            emit();
        }
        ctx.write(msg, promise);
    }

    /** Called by the router: the current request is {@code tenant}'s (logged in its log). */
    void tenant(String tenant) {
        this.tenant = tenant;
    }

    private void emit() {
        if (tenant != null) {
            // Built by hand: String.format and a DateTimeFormatter per request were a tenth
            // of the proxy's CPU under load.
            long micros = (System.nanoTime() - startNanos) / 1000;
            if (clientIp == null) {
                clientIp = clientIp(ctx.channel());
            }
            LogLine line = LogLine.start().plain(clientIp).plain(" - - [").plain(ClfClock.format(startNanos))
                    .plain("] \"");
            // The request's head stays readable after its (empty or sent) content is released.
            line.quoted(request.method().name()).plain(' ').quoted(request.uri()).plain(' ')
                    .plain(protocol != null ? protocol : request.protocolVersion().text()).plain("\" ").number(status).plain(' ').number(bytes)
                    .plain(" \"").quoted(request.headers().get(HttpHeaderNames.REFERER)).plain("\" \"")
                    .quoted(request.headers().get(HttpHeaderNames.USER_AGENT)).plain("\" ")
                    .number(micros / 1_000_000).plain('.');
            long millis = micros / 1000 % 1000;
            line.plain((char) ('0' + millis / 100)).plain((char) ('0' + millis / 10 % 10)).plain((char) ('0' + millis % 10));
            log.log(ctx.executor(), tenant, line.bytes(), line.length());
        }
        request = null;
    }

    static String clientIp(Channel channel) {
        // An HTTP/2 stream is a child channel; the client is its parent's peer.
        Channel connection = channel.parent() != null && !(channel.remoteAddress() instanceof InetSocketAddress)
                ? channel.parent() : channel;
        SocketAddress address = connection.remoteAddress();
        return address instanceof InetSocketAddress inet ? inet.getAddress().getHostAddress() : "-";
    }

    /**
     * The CLF timestamp of a moment given in {@link System#nanoTime} units, formatted once per
     * second rather than once per request, and without a wall-clock read per request: the
     * cached second knows the nano time it began at. A change of the wall clock shows from
     * the next second on.
     */
    static final class ClfClock {
        private record Second(long fromNanos, String text) {
        }

        private static volatile Second last = new Second(Long.MIN_VALUE, "");

        static String format(long nanos) {
            Second cached = last;
            long into = nanos - cached.fromNanos();
            if (into >= 0 && into < 1_000_000_000L && cached.fromNanos() != Long.MIN_VALUE) {
                return cached.text();
            }
            long wallMillis = System.currentTimeMillis() - (System.nanoTime() - nanos) / 1_000_000;
            long second = Math.floorDiv(wallMillis, 1000);
            cached = new Second(nanos - (wallMillis - second * 1000) * 1_000_000, ofSecond(second));
            last = cached;
            return cached.text();
        }

        static String ofSecond(long epochSecond) {
            return CLF_TIME.format(ZonedDateTime.ofInstant(Instant.ofEpochSecond(epochSecond), ZoneId.systemDefault()));
        }
    }
}
