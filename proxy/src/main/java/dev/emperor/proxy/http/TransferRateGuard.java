package dev.emperor.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.handler.codec.http2.Http2StreamChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Minimum data rates for a client connection, both ways (Kestrel's MinRequestBodyDataRate and
 * MinResponseDataRate). Idle and slow-head clients have their own limits; this one ends the
 * clients that keep a connection, and the upstream behind it, busy by trickling: a request
 * body a few bytes at a time, or a response read a few bytes at a time.
 *
 * <p>It sits first in the connection's pipeline (before TLS), so it counts bytes on the wire:
 * <ul>
 *   <li><b>receive</b>: measured while a request body is owed ({@link #bodyStarted} until
 *       {@link #bodyEnded}, called by the {@link Forwarder}) and the proxy is reading it (a
 *       body whose reading is paused because the app cannot take it yet, or whose upstream is
 *       still connecting, is not the client's fault). After the grace, the bytes received
 *       must average the minimum rate over the time measured; otherwise every owed body's
 *       channel gets {@link #TOO_SLOW} (the Forwarder answers 408, or closes if the response
 *       has begun, and aborts the upstream request).</li>
 *   <li><b>send</b>: measured while the proxy holds bytes the client has not taken (the
 *       socket's outbound buffer is not empty). After the grace, the bytes the client took
 *       must average the minimum rate; otherwise the connection is closed, which closes its
 *       upstream too (Forwarder, RawRelay).</li>
 * </ul>
 * The app thinking (a body sent, no response yet) measures neither; nor does a keep-alive
 * connection between requests, or an idle WebSocket: the idle timeout governs those.
 *
 * <p>HTTP/2: one guard per connection (on the parent channel), so the send rule is the
 * connection's (one TCP stream that the client does or does not read); the receive rule counts
 * the connection's bytes while any stream owes a body, and the 408 goes to every stream that
 * owes one. A stream-level rate alone would let a client keep 128 streams each just above the
 * rate. Flow control can hold a stream's response back without the socket ever backing up,
 * out of this guard's sight: {@link StalledStreamGuard} applies the send rule to each such
 * stream, with the same rate and grace.
 *
 * <p>Cost: per read and per write one {@code instanceof} and an addition; per flush one read of
 * the outbound buffer's size. One timer per connection, armed only while something is measured.
 */
final class TransferRateGuard extends ChannelDuplexHandler {

    /** Fired on a channel whose request body came in too slowly. */
    static final Object TOO_SLOW = new Object() {
        @Override
        public String toString() {
            return "TransferRateGuard.TOO_SLOW";
        }
    };

    /** Unsent bytes the kernel may hold for a client: enough to keep a fast link busy. */
    private static final long NOT_SENT_LOW_WATER = 128 * 1024;

    private final long bytesPerSecond;
    private final long graceNanos;
    private final long tickNanos;
    private ChannelHandlerContext ctx;
    private ScheduledFuture<?> timer;

    private long received;
    private long written;

    /** Channels (this connection, or its HTTP/2 streams) owing a request body. */
    private final List<Channel> owingBodies = new ArrayList<>(1);
    private long receiveNanos = -1;
    private long receivedAtStart;

    private long sendNanos = -1;
    private long takenAtStart;

    TransferRateGuard(long bytesPerSecond, long graceNanos) {
        this.bytesPerSecond = bytesPerSecond;
        this.graceNanos = graceNanos;
        this.tickNanos = tickNanos(graceNanos);
    }

    /** Fine enough to judge near the end of the grace, never more than once a second. */
    static long tickNanos(long graceNanos) {
        return Math.clamp(graceNanos / 5, TimeUnit.MILLISECONDS.toNanos(10), TimeUnit.SECONDS.toNanos(1));
    }

    /** Whether {@code bytes} in {@code nanos} of measuring, past the grace, fall below the rate. */
    static boolean tooSlow(long bytes, long nanos, long bytesPerSecond, long graceNanos) {
        return nanos > graceNanos && bytes < (double) bytesPerSecond * nanos / 1e9;
    }

    /** The guard of the connection {@code channel} belongs to, or null if it has none. */
    static TransferRateGuard of(Channel channel) {
        Channel connection = channel instanceof Http2StreamChannel stream ? stream.parent() : channel;
        return connection.pipeline().get(TransferRateGuard.class);
    }

    /** {@code channel} (the connection or an HTTP/2 stream) now owes a request body. */
    void bodyStarted(Channel channel) {
        if (owingBodies.isEmpty() && receiveNanos < 0) {
            receiveNanos = 0;
            receivedAtStart = received;
        }
        owingBodies.add(channel);
        arm();
    }

    /** The body {@code channel} owed has arrived, or its exchange is over. */
    void bodyEnded(Channel channel) {
        owingBodies.remove(channel);
        if (owingBodies.isEmpty()) {
            receiveNanos = -1;
        }
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        // Linux grows a socket's send buffer up to megabytes; a slow reader's backlog would sit
        // there, out of sight, and the response would look delivered. Capped, it stays in
        // Netty's outbound buffer, where the send rule sees it (and back-pressure stops the app).
        ctx.channel().config().setOption(EpollChannelOption.TCP_NOTSENT_LOWAT, NOT_SENT_LOW_WATER);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf bytes) {
            received += bytes.readableBytes();
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf bytes) {
            written += bytes.readableBytes();
        }
        ctx.write(msg, promise);
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
        ctx.flush();
        if (sendNanos < 0) {
            long pending = pending();
            if (pending > 0) {
                // The socket did not take everything: the client is behind.
                sendNanos = 0;
                takenAtStart = written - pending;
                arm();
            }
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        disarm();
        owingBodies.clear();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        disarm();
    }

    private long pending() {
        ChannelOutboundBuffer buffer = ctx.channel().unsafe().outboundBuffer();
        return buffer == null ? 0 : buffer.totalPendingWriteBytes();
    }

    private void arm() {
        if (timer == null && ctx.channel().isActive()) {
            timer = ctx.executor().scheduleAtFixedRate(this::tick, tickNanos, tickNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void disarm() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void tick() {
        if (!ctx.channel().isActive()) {
            disarm();
            return;
        }
        boolean sending = checkSend();
        boolean receiving = checkReceive();
        if (!sending && !receiving) {
            disarm();
        }
    }

    /** Returns whether the send side is still being measured. */
    private boolean checkSend() {
        long pending = pending();
        if (pending == 0) {
            sendNanos = -1;
            return false;
        }
        long taken = written - pending;
        if (sendNanos < 0) {
            sendNanos = 0;
            takenAtStart = taken;
            return true;
        }
        sendNanos += tickNanos;
        if (tooSlow(taken - takenAtStart, sendNanos)) {
            disarm();
            // Abortive (RST): a normal close would leave the backlog in the kernel, still
            // trickling to the client, and the connection open from its side until it is read.
            ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
            ctx.close(); // Forwarder / RawRelay close the upstream when the client goes
            return false;
        }
        return true;
    }

    /** Returns whether the receive side is still being measured. */
    private boolean checkReceive() {
        owingBodies.removeIf(channel -> !channel.isActive());
        if (owingBodies.isEmpty()) {
            receiveNanos = -1;
            return false;
        }
        if (receiveNanos < 0) {
            receiveNanos = 0;
            receivedAtStart = received;
        }
        if (!reading()) {
            return true; // the proxy holds the client back: not its time
        }
        receiveNanos += tickNanos;
        if (tooSlow(received - receivedAtStart, receiveNanos)) {
            List<Channel> slow = List.copyOf(owingBodies);
            owingBodies.clear();
            receiveNanos = -1;
            for (Channel channel : slow) {
                channel.pipeline().fireUserEventTriggered(TOO_SLOW);
            }
            return false;
        }
        return true;
    }

    /** Whether the proxy is reading at least one owed body (and the connection itself). */
    private boolean reading() {
        if (!ctx.channel().config().isAutoRead()) {
            return false;
        }
        for (Channel channel : owingBodies) {
            if (channel.config().isAutoRead()) {
                return true;
            }
        }
        return false;
    }

    private boolean tooSlow(long bytes, long nanos) {
        return tooSlow(bytes, nanos, bytesPerSecond, graceNanos);
    }
}
