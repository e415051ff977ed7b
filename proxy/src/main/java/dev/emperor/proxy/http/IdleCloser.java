package dev.emperor.proxy.http;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Closes a connection (client or pooled upstream) with no traffic either way for the
 * timeout. Traffic is a read or a write; unlike Netty's IdleStateHandler this puts no
 * listener on every write's promise (a few percent of the proxy's CPU under load): a write
 * counts when it is made, and a peer that stops reading stops the writes too (back-pressure).
 * One timer per connection, re-armed only when it fires.
 */
final class IdleCloser extends ChannelDuplexHandler {

    private final long timeoutNanos;
    private long lastActivity;
    private ScheduledFuture<?> timer;

    IdleCloser(long timeoutNanos) {
        this.timeoutNanos = timeoutNanos;
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
        lastActivity = System.nanoTime();
        ctx.fireChannelReadComplete();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        lastActivity = System.nanoTime();
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
            lastActivity = System.nanoTime();
            schedule(ctx, timeoutNanos);
        }
    }

    private void schedule(ChannelHandlerContext ctx, long delayNanos) {
        timer = ctx.executor().schedule(() -> check(ctx), delayNanos, TimeUnit.NANOSECONDS);
    }

    private void check(ChannelHandlerContext ctx) {
        if (timer == null || !ctx.channel().isOpen()) {
            return;
        }
        long quiet = System.nanoTime() - lastActivity;
        if (quiet >= timeoutNanos) {
            timer = null;
            ctx.close();
        } else {
            schedule(ctx, timeoutNanos - quiet);
        }
    }

    private void stop() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
