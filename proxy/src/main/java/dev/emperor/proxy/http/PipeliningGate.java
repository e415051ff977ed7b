package dev.emperor.proxy.http;

import dev.emperor.proxy.ClientConnections;
import dev.emperor.proxy.l4.HalfClosedWatch;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * One request at a time per HTTP/1.1 connection: a pipelined request waits here (and the
 * connection stops reading) until the previous request has been read whole and its response
 * written whole. Responses can then never interleave, and the handlers behind see a simple
 * request, response, request, response sequence.
 *
 * <p>It also decides what a client's FIN (half-close) means, since it knows whether requests
 * are in flight: between requests the connection closes at once; a request cut short by the
 * FIN is aborted and the connection closed (as before half-closure was allowed); requests
 * already read whole are answered, and the connection closes after the last answer, as nginx
 * and haproxy do. The idle and data-rate timers keep running meanwhile, so a half-closed
 * client that does not read its answer is still cut off.
 */
final class PipeliningGate extends ChannelDuplexHandler {

    private final ArrayDeque<Object> waiting = new ArrayDeque<>();
    /** Told when the connection is between requests (it may then be closed to make room); may be null. */
    private final ClientConnections.Client client;
    private boolean busy;
    private boolean requestRead;
    private boolean responseWritten;
    /** The client sent FIN: close once no request read whole is left unanswered. */
    private boolean inputShut;
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
        boolean last = msg instanceof LastHttpContent; // the proxy's own answers
        ctx.write(msg, promise);
        if (last) {
            responseWritten(); // after the write: a close it may start must come behind the answer
        }
    }

    /** The current response is written whole (the Forwarder calls this for relayed ones). */
    void responseWritten() {
        responseWritten = true;
        if (requestRead && waiting.isEmpty()) {
            busy = false; // nothing waits (so reading was never paused): open the gate now
            if (client != null) {
                client.idle();
            }
            if (inputShut) {
                closeWhenWritten(ctx);
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
        if (!busy && inputShut) {
            closeWhenWritten(ctx);
            return;
        }
        if (waiting.isEmpty()) {
            ReadPauses.resume(ctx.channel(), ReadPauses.PIPELINED);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == RequestGuard.BAD_BODY && !waiting.isEmpty()) {
            // The broken body is a waiting request's (cut short by a FIN, or malformed), not
            // the one being answered: that one and those read whole before it still are; the
            // guard reads nothing more, so the connection ends after them.
            inputShut = true;
            dropCutShort();
            return;
        }
        if (!(evt instanceof ChannelInputShutdownEvent)) {
            ctx.fireUserEventTriggered(evt);
            return;
        }
        inputShut = true;
        dropCutShort();
        if (busy && !requestRead) {
            // The FIN came inside the current request (head read, body not): it can never be
            // answered properly. Closing aborts its upstream exchange (Forwarder.clientClosed).
            ctx.close();
            return;
        }
        // Answers (or the last bytes of one) may not fit the socket at once: keep the fd in
        // epoll so that writing them can wait for room.
        HalfClosedWatch.keep(ctx.channel());
        if (!busy) {
            closeWhenWritten(ctx); // between requests: nothing to wait for
        }
    }

    /**
     * Drops a waiting request that was never read whole (its head and the body pieces so far,
     * at the end of the queue): it never reaches the app. Broken pieces stop at the guard.
     */
    private void dropCutShort() {
        while (!waiting.isEmpty() && !(waiting.peekLast() instanceof LastHttpContent)) {
            ReferenceCountUtil.release(waiting.pollLast());
        }
    }

    /**
     * Closes once everything written so far has left (nothing may be in flight to the socket:
     * a relayed answer is flushed after the I/O batch, LoopFlushes).
     */
    private static void closeWhenWritten(ChannelHandlerContext ctx) {
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        waiting.forEach(ReferenceCountUtil::release);
        waiting.clear();
    }
}
