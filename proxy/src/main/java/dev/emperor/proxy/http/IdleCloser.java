package dev.emperor.proxy.http;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Closes a connection (client or pooled upstream) with no traffic either way for the
 * timeout: between one and one and a half timeouts after its last read or write. Unlike
 * Netty's IdleStateHandler this puts no listener on every write's promise and reads no clock
 * per read or write (together several percent of the proxy's CPU under load): traffic only
 * sets a flag, and a timer looks at it every half timeout. A write counts when it is made; a
 * peer that stops reading stops the writes too (back-pressure).
 */
final class IdleCloser extends ChannelDuplexHandler {

    private final long tickNanos;
    /** Traffic since the last tick. */
    private boolean active;
    /** Ticks in a row without traffic; two make a timeout. */
    private int quietTicks;
    private ScheduledFuture<?> timer;

    IdleCloser(long timeoutNanos) {
        this.tickNanos = Math.max(1, timeoutNanos / 2);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (ctx.channel().isActive() && ctx.channel().isRegistered()) {
            start(ctx);
        }
    }

    @Override
    public void channelRegistered(ChannelHandlerContext ctx) throws Exception {
        if (ctx.channel().isActive()) {
            start(ctx);
        }
        super.channelRegistered(ctx);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        start(ctx);
        super.channelActive(ctx);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        active = true;
        ctx.fireChannelReadComplete();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        active = true;
        ctx.write(msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        stop();
        super.channelInactive(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        stop();
    }

    private void start(ChannelHandlerContext ctx) {
        if (timer == null) {
            active = true; // the connection's start counts as traffic
            timer = ctx.executor().scheduleAtFixedRate(() -> tick(ctx), tickNanos, tickNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void tick(ChannelHandlerContext ctx) {
        if (timer == null) {
            return;
        }
        if (!ctx.channel().isOpen()) {
            stop();
            return;
        }
        if (active) {
            active = false;
            quietTicks = 0;
        } else if (++quietTicks >= 2) {
            stop();
            ctx.close();
        }
    }

    private void stop() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
