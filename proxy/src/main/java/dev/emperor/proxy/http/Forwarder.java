package dev.emperor.proxy.http;

import dev.emperor.proxy.ClientConnections;
import dev.emperor.proxy.Upstream;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client side of proxying: for each routed request, borrows an upstream connection on
 * this event loop, streams the request body up and the response down with back-pressure
 * both ways (a side stops reading while the other cannot keep up), and turns upstream
 * failures into 502/504 pages. A connection that breaks after the response has begun is
 * closed, never patched with a second response. Only one exchange runs at a time (the
 * pipelining gate sees to that).
 *
 * <p>Both directions to the app are bytes: the request head is written by
 * {@link ForwardedHeaders#upstreamHead} (a chunked body framed here), the response comes from
 * the connection's {@link ResponseParser}. An HTTP/1.1 client gets the response as bytes too,
 * and its end is told to the access log and the pipelining gate directly (no message goes
 * down the pipeline for it); an HTTP/2 stream gets Netty HTTP objects for its codec.
 */
final class Forwarder extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(Forwarder.class);

    private static final short CRLF = ('\r' << 8) | '\n';
    private static final int LAST_CHUNK_HEAD = ('0' << 16) | ('\r' << 8) | '\n';
    /**
     * A response body up to this size leaves in one buffer with its head (the app's read
     * buffer with the head rewritten in place, else a new one with the body copied in): one
     * write through the pipeline and one send, not a writev of two pieces.
     */
    private static final int SMALL_BODY = 2048;
    private static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private final UpstreamPool pool;
    private final boolean overTls;
    private final boolean http2Stream;
    /** The client pipeline's HTTP handlers, removed when a WebSocket upgrade succeeds. */
    private final List<String> httpHandlerNames;
    /** Told when a relayed HTTP/1.1 response has been written whole; the gate is null for HTTP/2. */
    private final AccessLogHandler accessLog;
    private final PipeliningGate gate;
    /** Request header names with '_' go on to the app (see {@link ForwardedHeaders#hasUnderscore}). */
    private final boolean underscoresAllowed;
    private ChannelHandlerContext ctx;
    private Exchange current;
    /** The client's address as text, worked out once per connection. */
    private String clientIp;
    /** The pool's idle upstream connections on this connection's event loop (it never changes). */
    private Map<Upstream, ArrayDeque<Channel>> idleHere;
    /**
     * The exchange waiting for its response head, and until when. One timer per connection
     * serves every exchange: it is re-armed when it fires early, never cancelled and
     * scheduled anew per request (which cost a priority-queue insert and removal each).
     */
    private Exchange awaitingResponse;
    private long responseDeadline;
    private ScheduledFuture<?> responseTimer;

    Forwarder(UpstreamPool pool, boolean overTls, boolean http2Stream, List<String> httpHandlerNames,
              AccessLogHandler accessLog, PipeliningGate gate, boolean underscoresAllowed) {
        this.pool = pool;
        this.overTls = overTls;
        this.http2Stream = http2Stream;
        this.httpHandlerNames = httpHandlerNames;
        this.accessLog = accessLog;
        this.gate = gate;
        this.underscoresAllowed = underscoresAllowed;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Routed routed) {
            current = new Exchange(routed);
            current.start();
        } else if (msg instanceof HttpContent content && current != null && !current.requestDone) {
            current.fromClient(content);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (current != null && current.upstream != null) {
            LoopFlushes.flushSoon(current.upstream);
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == TransferRateGuard.TOO_SLOW) {
            if (current != null) {
                current.fail(HttpResponseStatus.REQUEST_TIMEOUT, "request body below the minimum data rate");
            } else {
                ctx.close();
            }
            return;
        }
        if (evt == RequestGuard.BAD_BODY) {
            if (current != null) {
                current.fail(HttpResponseStatus.BAD_REQUEST, "malformed request body");
            } else {
                ctx.close();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable() && current != null && current.upstream != null) {
            ReadPauses.resume(current.upstream, ReadPauses.PEER_BUSY);
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (current != null) {
            current.clientClosed();
        }
        if (responseTimer != null) {
            responseTimer.cancel(false);
            responseTimer = null;
        }
        ctx.fireChannelInactive();
    }

    private void scheduleResponseTimer(long delayNanos) {
        responseTimer = ctx.executor().schedule(this::responseTimeUp, delayNanos, TimeUnit.NANOSECONDS);
    }

    private void responseTimeUp() {
        responseTimer = null;
        Exchange waiting = awaitingResponse;
        if (waiting == null) {
            return;
        }
        long left = responseDeadline - System.nanoTime();
        if (left > 0) {
            scheduleResponseTimer(left); // armed for a later request than the one it was set for
            return;
        }
        awaitingResponse = null;
        waiting.fail(HttpResponseStatus.GATEWAY_TIMEOUT, "no response in time");
    }

    /** The last bytes of a relayed HTTP/1.1 response are written: first the log, then the gate. */
    private void relayedResponseWritten(int status, long bodyBytes) {
        accessLog.responseWritten(status, bodyBytes);
        gate.responseWritten();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("client connection failed", cause);
        ctx.close();
    }

    /** One request and its response. */
    final class Exchange implements ResponseParser.Listener {
        private final Routed routed;
        private final HttpRequest request;
        private final boolean webSocket;
        /** The client speaks HTTP/1.1: a body without a length can go to it chunked. */
        private final boolean clientHttp11;
        /** The client asked to close after this response (HTTP/1.0, Connection: close). */
        private final boolean clientClose;
        /** Body pieces that came before the upstream connection; made when the first does. */
        private List<HttpContent> early = List.of();
        private Channel upstream;
        private ResponseRelay relay;
        private boolean requestDone;
        private boolean responseStarted;
        private boolean responseDone;
        private boolean upstreamKeepAlive;
        private long bodyBytes;
        /** The connection's rate guard while this exchange owes it a request body, else null. */
        private TransferRateGuard owedBodyGuard;
        private int status;
        /** A close-delimited body going to an HTTP/1.1 client: the proxy frames it in chunks. */
        private boolean reChunk;
        private boolean closeAfter;
        private boolean switched;
        private final boolean upstreamChunked;
        /** The head of a small response, held until its body is in behind it. */
        private ByteBuf heldHead;

        Exchange(Routed routed) {
            this.routed = routed;
            this.request = routed.request();
            this.webSocket = !http2Stream && ForwardedHeaders.isWebSocketUpgrade(request);
            this.clientHttp11 = request.protocolVersion().equals(HttpVersion.HTTP_1_1);
            this.clientClose = !http2Stream && !HttpUtil.isKeepAlive(request);
            this.upstreamChunked = ForwardedHeaders.upstreamChunked(request);
            // An HTTP/2 request without a body arrives whole (HEADERS with END_STREAM): its
            // end is already here, and the upstream connection can be reused after it.
            this.requestDone = request instanceof LastHttpContent;
        }

        void start() {
            if (!requestDone && !http2Stream && HttpUtil.is100ContinueExpected(request)) {
                // Only now, once routed and within limits: a refused request (404, 413...)
                // got its answer instead and its body is never sent. (Expect does not go up.)
                ctx.writeAndFlush(Unpooled.wrappedBuffer(CONTINUE), ctx.voidPromise());
            }
            if (!requestDone) {
                owedBodyGuard = TransferRateGuard.of(ctx.channel());
                if (owedBodyGuard != null) {
                    owedBodyGuard.bodyStarted(ctx.channel());
                }
            }
            if (idleHere == null) {
                idleHere = pool.idleOn(ctx.channel().eventLoop());
            }
            Channel pooled = pool.takeIdle(idleHere, routed.upstream());
            if (pooled != null) {
                connectedTo(pooled); // no promise, no pause, no listener
                return;
            }
            Future<Channel> connecting = pool.connect(ctx.channel().eventLoop(), routed.upstream());
            if (connecting.isDone()) {
                connected(connecting); // refused at once (a unix socket that is not there)
                return;
            }
            // Body bytes arriving before the upstream connects wait in `early`; keep it small.
            ReadPauses.pause(ctx.channel(), ReadPauses.CONNECTING);
            connecting.addListener(f -> {
                ReadPauses.resume(ctx.channel(), ReadPauses.CONNECTING);
                connected(f);
            });
        }

        private void connected(Future<? super Channel> f) {
            if (current != this || !ctx.channel().isActive()) {
                if (f.isSuccess()) {
                    pool.release(routed.upstream(), (Channel) f.getNow());
                }
                return;
            }
            if (!f.isSuccess()) {
                fail(HttpResponseStatus.BAD_GATEWAY, "connect to " + routed.upstream() + ": " + f.cause());
                return;
            }
            connectedTo((Channel) f.getNow());
        }

        /** The exchange has its upstream connection: the request goes up. */
        private void connectedTo(Channel channel) {
            upstream = channel;
            relay = (ResponseRelay) upstream.pipeline().last(); // UpstreamPool puts it last
            // An HTTP/2 stream and an HTTP/1.0 client take the body without the app's chunk framing.
            relay.bind(this, request.method() == HttpMethod.HEAD, http2Stream || !clientHttp11);
            if (clientIp == null) {
                clientIp = AccessLogHandler.clientIp(ctx.channel());
            }
            // Void promises: nothing waits on these writes; a failure closes the connection.
            upstream.write(ForwardedHeaders.upstreamHead(upstream.alloc(), request, clientIp, overTls, webSocket,
                    underscoresAllowed),
                    upstream.voidPromise());
            if (request instanceof LastHttpContent whole) {
                whole.release(); // an HTTP/2 request that came whole: its body is empty
            }
            early.forEach(this::sendUp);
            early = List.of();
            LoopFlushes.flushSoon(upstream);
            if (requestDone) {
                armTimer();
            }
            if (!upstream.isWritable()) {
                ReadPauses.pause(ctx.channel(), ReadPauses.PEER_BUSY);
            }
        }

        void fromClient(HttpContent content) {
            int length = content.content().readableBytes();
            bodyBytes += length;
            routed.traffic().webBytesIn.add(length);
            if (bodyBytes > routed.site().maxBodyBytes()) {
                content.release();
                fail(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "body over limit");
                return;
            }
            if (content instanceof LastHttpContent) {
                requestDone = true;
                bodyNoLongerOwed();
            }
            if (upstream == null) {
                if (early.isEmpty()) {
                    early = new ArrayList<>();
                }
                early.add(content);
                return;
            }
            sendUp(content);
            if (requestDone) {
                upstream.flush();
                armTimer();
            }
            if (!upstream.isWritable()) {
                ReadPauses.pause(ctx.channel(), ReadPauses.PEER_BUSY);
            }
        }

        /** A piece of the request body, framed as the head sent upstream said. */
        private void sendUp(HttpContent content) {
            ByteBuf data = content.content();
            boolean last = content instanceof LastHttpContent;
            if (!upstreamChunked) {
                upstream.write(data, upstream.voidPromise()); // the decoder delivers exactly Content-Length bytes
                return;
            }
            if (data.isReadable()) {
                ByteBuf size = upstream.alloc().directBuffer(12);
                size.writeCharSequence(Integer.toHexString(data.readableBytes()), StandardCharsets.US_ASCII);
                upstream.write(size.writeShort(CRLF), upstream.voidPromise());
                upstream.write(data, upstream.voidPromise());
                upstream.write(upstream.alloc().directBuffer(2).writeShort(CRLF), upstream.voidPromise());
            } else {
                data.release();
            }
            if (last) {
                // The client's trailer fields, if any, stay here: nothing upstream asked for them.
                upstream.write(upstream.alloc().directBuffer(5).writeMedium(LAST_CHUNK_HEAD).writeShort(CRLF),
                        upstream.voidPromise());
            }
        }

        void upstreamWritabilityChanged(boolean writable) {
            if (writable) {
                ReadPauses.resume(ctx.channel(), ReadPauses.PEER_BUSY);
            }
        }

        @Override
        public boolean head(ResponseHead head, ResponseHead.Framing framing, ByteBuf arrivedIn) {
            if (current != this) {
                return false;
            }
            status = head.status();
            if (status == 101) {
                if (webSocket) {
                    switchToRelay(head);
                } else {
                    fail(HttpResponseStatus.BAD_GATEWAY, "101 to a request that asked for no upgrade");
                }
                return false;
            }
            cancelTimer();
            responseStarted = true;
            upstreamKeepAlive = head.keepAlive() && framing != ResponseHead.Framing.CLOSE;
            if (http2Stream) {
                ctx.write(head.toHttpResponse());
                return false;
            }
            ResponseHead.Framing out = switch (framing) {
                case NONE, LENGTH -> framing;
                // A body without a length: chunked to an HTTP/1.1 client, else ended by closing.
                case CHUNKED, CLOSE -> clientHttp11 ? ResponseHead.Framing.CHUNKED : ResponseHead.Framing.CLOSE;
            };
            reChunk = framing == ResponseHead.Framing.CLOSE && clientHttp11;
            closeAfter = clientClose || out == ResponseHead.Framing.CLOSE;
            if (framing == ResponseHead.Framing.LENGTH && head.contentLength() <= SMALL_BODY) {
                int length = (int) head.contentLength();
                if (arrivedIn != null && arrivedIn.readableBytes() >= length) {
                    // Head and body came in one read: the client's head is written over the
                    // app's, and both go out as one slice of that buffer, nothing copied.
                    int start = head.encodeInPlace(arrivedIn, out, closeAfter);
                    if (start >= 0) {
                        heldHead = arrivedIn.retainedSlice(start, arrivedIn.readerIndex() - start + length);
                        routed.traffic().webBytesOut.add(length); // body() never sees these bytes
                        return true; // the parser skips the body: it is in the slice
                    }
                }
                heldHead = head.encode(ctx.alloc(), out, closeAfter, length);
            } else {
                ctx.write(head.encode(ctx.alloc(), out, closeAfter), ctx.voidPromise());
            }
            return false;
        }

        /** Sends the held head (with what body it has) on its way. */
        private void writeHeldHead() {
            if (heldHead != null) {
                ctx.write(heldHead, ctx.voidPromise());
                heldHead = null;
            }
        }

        private void dropHeldHead() {
            if (heldHead != null) {
                heldHead.release();
                heldHead = null;
            }
        }

        @Override
        public void body(ByteBuf bytes) {
            if (current != this) {
                bytes.release();
                return;
            }
            routed.traffic().webBytesOut.add(bytes.readableBytes());
            if (heldHead != null && bytes.readableBytes() <= heldHead.writableBytes()) {
                heldHead.writeBytes(bytes);
                bytes.release();
                return;
            }
            writeHeldHead();
            if (http2Stream) {
                ctx.write(new DefaultHttpContent(bytes));
            } else if (reChunk) {
                ByteBuf size = ctx.alloc().directBuffer(12);
                size.writeCharSequence(Integer.toHexString(bytes.readableBytes()), StandardCharsets.US_ASCII);
                ctx.write(size.writeShort(CRLF), ctx.voidPromise());
                ctx.write(bytes, ctx.voidPromise());
                ctx.write(ctx.alloc().directBuffer(2).writeShort(CRLF), ctx.voidPromise());
            } else {
                ctx.write(bytes, ctx.voidPromise());
            }
            if (!ctx.channel().isWritable()) {
                // Pause before flushing: the flush may drain the buffer and fire the
                // writability event at once, and a pause after it would never be lifted.
                ReadPauses.pause(upstream, ReadPauses.PEER_BUSY);
                ctx.flush();
                if (http2Stream) {
                    StalledStreamGuard.check(ctx.channel()); // flow control may be what holds it
                }
            }
        }

        @Override
        public void end(long payloadBytes) {
            if (current != this) {
                return;
            }
            responseDone = true;
            writeHeldHead();
            if (http2Stream) {
                ctx.write(LastHttpContent.EMPTY_LAST_CONTENT);
            } else {
                if (reChunk) {
                    ctx.write(ctx.alloc().directBuffer(5).writeMedium(LAST_CHUNK_HEAD).writeShort(CRLF),
                            ctx.voidPromise());
                }
                relayedResponseWritten(status, payloadBytes);
            }
            if (http2Stream) {
                ctx.flush();
            } else {
                LoopFlushes.flushSoon(ctx.channel());
            }
            finish();
            if (http2Stream) {
                StalledStreamGuard.check(ctx.channel()); // the tail may wait on a window the client keeps shut
            }
        }

        @Override
        public void malformed(String why) {
            fail(HttpResponseStatus.BAD_GATEWAY, "unparsable response: " + why);
        }

        /** Bytes the app sent right after its 101, in the same read: already the relayed protocol. */
        void afterSwitch(ByteBuf bytes) {
            if (switched) {
                ctx.channel().writeAndFlush(bytes);
            } else {
                bytes.release(); // a 101 nobody asked for: the exchange failed, the upstream is closing
            }
        }

        void upstreamReadComplete() {
            if (current == this) {
                writeHeldHead(); // the rest of a small body is late: what there is goes now
                ctx.flush();
            }
        }

        /** Response fully written: the upstream goes back to the pool if it can be reused. */
        private void finish() {
            bodyNoLongerOwed();
            cancelTimer();
            relay.unbind();
            ReadPauses.resume(upstream, ReadPauses.PEER_BUSY);
            if (requestDone && upstreamKeepAlive) {
                pool.release(idleHere, routed.upstream(), upstream); // upstreams live on the client's loop
            } else {
                upstream.close();
            }
            current = null;
            ReadPauses.resume(ctx.channel(), ReadPauses.PEER_BUSY);
            if (!requestDone || closeAfter) {
                // The app answered before the body was all sent (nobody will read the rest),
                // or the client wants no more (or its body ends with the close).
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
        }

        void upstreamClosed() {
            if (responseDone || current != this) {
                return;
            }
            if (responseStarted) {
                LOG.debug("{} closed mid-response; closing the client", routed.upstream());
                dropUpstream();
                current = null;
                ctx.flush();
                ctx.close();
            } else {
                fail(HttpResponseStatus.BAD_GATEWAY, routed.upstream() + " closed before answering");
            }
        }

        /** Ends the exchange with an error page (or a close if the response has begun). */
        void fail(HttpResponseStatus status, String why) {
            if (current != this) {
                return;
            }
            LOG.debug("tenant {}: {} -> {}", routed.site().tenant(), why, status.code());
            current = null;
            dropUpstream();
            early.forEach(ReferenceCountUtil::release);
            early = List.of();
            if (responseStarted) {
                ctx.flush();
                ctx.close();
            } else {
                responseStarted = true;
                ErrorPages.send(ctx, ErrorPages.page(status), true);
            }
        }

        void clientClosed() {
            if (current != this) {
                return;
            }
            current = null;
            dropUpstream();
            early.forEach(ReferenceCountUtil::release);
            early = List.of();
        }

        private void dropUpstream() {
            dropHeldHead(); // the response is cut short: its head never goes
            bodyNoLongerOwed();
            cancelTimer();
            if (upstream != null) {
                relay.unbind();
                upstream.close(); // mid-exchange: never reused
            }
        }

        private void bodyNoLongerOwed() {
            if (owedBodyGuard != null) {
                owedBodyGuard.bodyEnded(ctx.channel());
                owedBodyGuard = null;
            }
        }

        /** From the request's end: the response head must come within the response timeout. */
        private void armTimer() {
            if (awaitingResponse == this || responseStarted) {
                return;
            }
            awaitingResponse = this;
            responseDeadline = System.nanoTime() + pool.responseTimeoutNanos();
            if (responseTimer == null) {
                scheduleResponseTimer(pool.responseTimeoutNanos());
            }
        }

        private void cancelTimer() {
            if (awaitingResponse == this) {
                awaitingResponse = null;
            }
        }

        /** 101 from the app: pass it on, then both connections become a plain byte relay. */
        private void switchToRelay(ResponseHead head) {
            bodyNoLongerOwed();
            cancelTimer();
            responseStarted = true;
            responseDone = true;
            switched = true;
            current = null;
            relay.unbind();
            // Written now, before the HTTP handlers leave the pipeline; the end is for the log.
            ctx.writeAndFlush(head.encodeSwitch(ctx.alloc()));
            relayedResponseWritten(101, 0);
            Channel client = ctx.channel();
            ClientConnections.Client counted = ClientConnections.of(client);
            if (counted != null) {
                counted.busy(); // a WebSocket is never an idle keep-alive connection
            }

            ChannelPipeline up = upstream.pipeline();
            up.addLast("raw", new RawRelay(client, routed.traffic().webBytesOut));
            up.remove(ResponseRelay.class);
            ChannelPipeline down = client.pipeline();
            down.addLast("raw", new RawRelay(upstream, routed.traffic().webBytesIn));
            for (String name : httpHandlerNames) {
                if (down.get(name) != null) {
                    down.remove(name);
                }
            }
            ReadPauses.resume(client, ReadPauses.PEER_BUSY | ReadPauses.PIPELINED | ReadPauses.CONNECTING);
            ReadPauses.resume(upstream, ReadPauses.PEER_BUSY);
        }
    }
}
