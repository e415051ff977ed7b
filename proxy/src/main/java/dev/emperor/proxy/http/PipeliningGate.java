package dev.emperor.proxy.http;

import dev.emperor.proxy.ClientConnections;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * One request at a time per HTTP/1.1 connection: a pipelined request waits here (and the
 * connection stops reading) until the previous request has been read whole and its response
 * written whole. Responses can then never interleave, and the handlers behind see a simple
 * request, response, request, response sequence.
 */
final class PipeliningGate extends ChannelDuplexHandler {

    private final ArrayDeque<Object> waiting = new ArrayDeque<>();
    /** Told when the connection is between requests (it may then be closed to make room); may be null. */
    private final ClientConnections.Client client;
    private boolean busy;
    private boolean requestRead;
    private boolean responseWritten;
    private ChannelHandlerContext ctx;
    /** Allocated once: it runs after every response. */
    private final Runnable releaseNext = () -> next(ctx);

    PipeliningGate(ClientConnections.Client client) {
        this.client = client;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!waiting.isEmpty() || (busy && msg instanceof HttpRequest && requestRead)) {
            waiting.add(msg);
            ReadPauses.pause(ctx.channel(), ReadPauses.PIPELINED);
            return;
        }
        pass(ctx, msg);
    }

    private void pass(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest) {
            if (!busy && client != null) {
                client.busy();
            }
            busy = true;
            requestRead = false;
            responseWritten = false;
        }
        if (msg instanceof LastHttpContent) {
            requestRead = true;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof LastHttpContent) { // the proxy's own answers
            responseWritten();
        }
        ctx.write(msg, promise);
    }

    /** The current response is written whole (the Forwarder calls this for relayed ones). */
    void responseWritten() {
        responseWritten = true;
        if (requestRead && waiting.isEmpty()) {
            busy = false; // nothing waits (so reading was never paused): open the gate now
            if (client != null) {
                client.idle();
            }
        } else if (requestRead) {
            // Release the next request after this write has gone through, not inside it.
            ctx.executor().execute(releaseNext);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (busy && requestRead && responseWritten) {
            next(ctx);
        }
        ctx.fireChannelReadComplete();
    }

    private void next(ChannelHandlerContext ctx) {
        if (!busy || !requestRead || !responseWritten || ctx.isRemoved()) {
            return;
        }
        busy = false;
        while (!waiting.isEmpty() && !(busy && waiting.peek() instanceof HttpRequest)) {
            pass(ctx, waiting.poll());
        }
        if (!busy && client != null) {
            client.idle();
        }
        if (waiting.isEmpty()) {
            ReadPauses.resume(ctx.channel(), ReadPauses.PIPELINED);
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        waiting.forEach(ReferenceCountUtil::release);
        waiting.clear();
    }
}
