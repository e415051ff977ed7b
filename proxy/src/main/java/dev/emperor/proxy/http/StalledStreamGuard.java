package dev.emperor.proxy.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2RemoteFlowController;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2WindowUpdateFrame;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The send rule of {@link TransferRateGuard} for each HTTP/2 stream. Flow control lets a client
 * hold a stream's response back without the socket ever backing up: it leaves the stream's
 * window (or the connection's) closed and keeps the connection busy with PINGs or other
 * streams. The response then waits in the codec's flow controller, where the connection's send
 * rule does not look, and the Forwarder's back-pressure keeps the upstream connection, and an
 * app worker of the tenant, waiting with it. So a stream whose response bytes wait in the flow
 * controller must get them out at the minimum rate on its own after the grace; one that does
 * not is reset (RST_STREAM CANCEL) and its upstream closed (Forwarder), and the connection's
 * other streams go on. Whatever holds the bytes (its window, the connection's, or a socket the
 * client does not read), each stream is judged alone: a client reading its connection at the
 * minimum rate must not keep 128 upstreams busy with it.
 *
 * <p>What a stream got out is read from flow control: the bytes sent on a stream are what its
 * send window lost, plus what the client granted since (stream WINDOW_UPDATEs, seen here: the
 * multiplexer keeps them from the stream channels) and what SETTINGS changed for every stream.
 * That is exact to the byte; a stream channel's write completions count whole frames of up to
 * 64 KiB, minutes at the minimum rate.
 *
 * <p>It sits between the HTTP/2 codec and the multiplexer. Cost: per inbound frame one
 * {@code instanceof}; the Forwarder asks only when it stops reading the upstream for a stream
 * and once at a response's end, and a stream is watched only if flow control then holds bytes
 * of it (its window events cannot serve: a stream that starts with a zero window never fires
 * one); one timer per connection, armed only while a stream is watched.
 */
final class StalledStreamGuard extends ChannelInboundHandlerAdapter {

    private final Http2Connection connection;
    private final Http2RemoteFlowController flow;
    private final long bytesPerSecond;
    private final long graceNanos;
    private final long tickNanos;
    private final List<Watched> watched = new ArrayList<>(1);
    private ChannelHandlerContext ctx;
    private ScheduledFuture<?> timer;

    StalledStreamGuard(Http2Connection connection, long bytesPerSecond, long graceNanos) {
        this.connection = connection;
        this.flow = connection.remote().flowController();
        this.bytesPerSecond = bytesPerSecond;
        this.graceNanos = graceNanos;
        this.tickNanos = TransferRateGuard.tickNanos(graceNanos);
    }

    /** {@code stream}'s response may be waiting on the client: measured from now if flow control holds it. */
    static void check(Channel stream) {
        StalledStreamGuard guard = stream.parent().pipeline().get(StalledStreamGuard.class);
        if (guard != null) {
            guard.watch((Http2StreamChannel) stream);
        }
    }

    private void watch(Http2StreamChannel channel) {
        Http2Stream stream = connection.stream(channel.stream().id());
        if (stream == null || !flow.hasFlowControlled(stream) || find(stream.id()) != null) {
            return;
        }
        watched.add(new Watched(channel, stream));
        if (timer == null && ctx.channel().isActive()) {
            timer = ctx.executor().scheduleAtFixedRate(this::tick, tickNanos, tickNanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2WindowUpdateFrame update && !watched.isEmpty()) {
            Watched stream = find(update.stream().id());
            if (stream != null) {
                stream.granted += update.windowSizeIncrement();
            }
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        disarm();
        watched.clear();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        disarm();
    }

    private Watched find(int streamId) {
        for (Watched stream : watched) {
            if (stream.stream.id() == streamId) {
                return stream;
            }
        }
        return null;
    }

    private void disarm() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void tick() {
        List<Watched> slow = List.of();
        for (Iterator<Watched> it = watched.iterator(); it.hasNext(); ) {
            Watched stream = it.next();
            if (!stream.channel.isActive() || !flow.hasFlowControlled(stream.stream)) {
                it.remove(); // the client took everything, or the stream is gone
                continue;
            }
            stream.nanos += tickNanos;
            if (TransferRateGuard.tooSlow(stream.sent(), stream.nanos, bytesPerSecond, graceNanos)) {
                it.remove();
                if (slow.isEmpty()) {
                    slow = new ArrayList<>(1);
                }
                slow.add(stream);
            }
        }
        if (watched.isEmpty()) {
            disarm();
        }
        for (Watched stream : slow) {
            // Reset through the codec: the stream channel's own close sends no RST once both ends
            // of the stream were handed to the codec (a finished response still queued), and the
            // reset drops what is queued. The close then comes at once, not when the RST is out:
            // the Forwarder closes the upstream with it.
            ctx.write(new DefaultHttp2ResetFrame(Http2Error.CANCEL).stream(stream.channel.stream()));
            ctx.flush();
            stream.channel.close();
        }
    }

    /** A stream whose response waits in flow control, measured since it was handed over. */
    private final class Watched {
        final Http2StreamChannel channel;
        final Http2Stream stream;
        final int windowAtStart;
        final int initialWindowAtStart;
        /** Stream WINDOW_UPDATE increments since the start. */
        long granted;
        long nanos;

        Watched(Http2StreamChannel channel, Http2Stream stream) {
            this.channel = channel;
            this.stream = stream;
            this.windowAtStart = flow.windowSize(stream);
            this.initialWindowAtStart = flow.initialWindowSize();
        }

        /** DATA bytes the flow controller let out on this stream since the start. */
        long sent() {
            long settingsDelta = (long) flow.initialWindowSize() - initialWindowAtStart;
            return (long) windowAtStart - flow.windowSize(stream) + granted + settingsDelta;
        }
    }
}
