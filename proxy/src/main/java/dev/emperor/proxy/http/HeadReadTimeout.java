package dev.emperor.proxy.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Slowloris defence: once the first bytes of a request head arrive, the whole head must
 * follow within the limit, however slowly the client drips it. Sits after the decoder: a
 * read that produced no request yet means a head is in progress.
 */
final class HeadReadTimeout extends ChannelInboundHandlerAdapter {

    private final long timeoutNanos;
    private boolean waitingForHead = true;
    private boolean decodedThisRead;
    private ScheduledFuture<?> timer;

    HeadReadTimeout(long timeoutNanos) {
        this.timeoutNanos = timeoutNanos;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        decodedThisRead = true;
        if (msg instanceof HttpRequest) {
            waitingForHead = false;
            cancel();
        }
        if (msg instanceof LastHttpContent) {
            waitingForHead = true;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // Bytes came in but the decoder produced nothing: part of a head is sitting in it.
        boolean partialHead = !decodedThisRead;
        decodedThisRead = false;
        if (waitingForHead && partialHead && timer == null) {
            timer = ctx.executor().schedule(() -> {
                if (waitingForHead) {
                    ctx.close();
                }
            }, timeoutNanos, TimeUnit.NANOSECONDS);
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancel();
        ctx.fireChannelInactive();
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
