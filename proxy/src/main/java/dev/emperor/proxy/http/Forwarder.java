package dev.emperor.proxy.http;

import dev.emperor.proxy.Upstream;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client side of proxying: for each routed request, borrows an upstream connection on
 * this event loop, streams the request body up and the response down with back-pressure
 * both ways (a side stops reading while the other cannot keep up), and turns upstream
 * failures into 502/504 pages. A connection that breaks after the response has begun is
 * closed, never patched with a second response. Only one exchange runs at a time (the
 * pipelining gate sees to that); between exchanges {@code current} is null.
 *
 * <p>Each exchange's state is one {@link ExchangePhase}. Both directions to the app are bytes:
 * the request head is written by {@link ForwardedHeaders#upstreamHead} (a chunked body framed
 * here), the response comes from the connection's {@link ResponseParser} and goes to the
 * client through the connection's {@link ResponseWriter}, one per protocol.
 */
final class Forwarder extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(Forwarder.class);

    private final UpstreamPool pool;
    private final boolean overTls;
    /** The client pipeline's HTTP handlers, removed when a WebSocket upgrade succeeds. */
    private final List<String> httpHandlerNames;
    /** Request header names with '_' go on to the app (see {@link ForwardedHeaders#hasUnderscore}). */
    private final boolean underscoresAllowed;
    /** The client's protocol: HTTP/1.1 or an HTTP/2 stream. */
    private final Function<ChannelHandlerContext, ResponseWriter> writerFor;
    private ChannelHandlerContext ctx;
    private ResponseWriter writer;
    private Exchange current;
    /** The client's address as text, worked out once per connection. */
    private String clientIp;
    /** The pool's idle upstream connections on this connection's event loop (it never changes). */
    private Map<Upstream, ArrayDeque<Channel>> idleHere;
    /**
     * When the exchange in {@link ExchangePhase#AWAITING_RESPONSE} gets a 504. One timer per
     * connection serves every exchange: it is re-armed when it fires early, never cancelled and
     * scheduled anew per request (which cost a priority-queue insert and removal each).
     */
    private long responseDeadline;
    private ScheduledFuture<?> responseTimer;

    /** {@code writerFor} makes the connection's response writer from this handler's context. */
    Forwarder(UpstreamPool pool, boolean overTls, List<String> httpHandlerNames, boolean underscoresAllowed,
              Function<ChannelHandlerContext, ResponseWriter> writerFor) {
        this.pool = pool;
        this.overTls = overTls;
        this.httpHandlerNames = httpHandlerNames;
        this.underscoresAllowed = underscoresAllowed;
        this.writerFor = writerFor;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.writer = writerFor.apply(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Routed routed) {
            current = new Exchange(routed);
            current.start();
        } else if (msg instanceof HttpContent content && current != null && current.phase.requestBodyOwed()) {
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
        if (evt == TransferRateGuard.TOO_SLOW || evt == RequestGuard.BAD_BODY) {
            if (current == null) {
                ctx.close();
            } else if (evt == TransferRateGuard.TOO_SLOW) {
                current.fail(HttpResponseStatus.REQUEST_TIMEOUT, "request body below the minimum data rate");
            } else {
                current.fail(HttpResponseStatus.BAD_REQUEST, "malformed request body");
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

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("client connection failed", cause);
        ctx.close();
    }

    /** From the request's end: the response head must come within the response timeout. */
    private void armResponseTimer() {
        responseDeadline = System.nanoTime() + pool.responseTimeoutNanos();
        if (responseTimer == null) {
            scheduleResponseTimer(pool.responseTimeoutNanos());
        }
    }

    private void scheduleResponseTimer(long delayNanos) {
        responseTimer = ctx.executor().schedule(this::responseTimeUp, delayNanos, TimeUnit.NANOSECONDS);
    }

    private void responseTimeUp() {
        responseTimer = null;
        Exchange waiting = current;
        if (waiting == null || waiting.phase != ExchangePhase.AWAITING_RESPONSE) {
            return;
        }
        long left = responseDeadline - System.nanoTime();
        if (left > 0) {
            scheduleResponseTimer(left); // armed for a later request than the one it was set for
            return;
        }
        waiting.fail(HttpResponseStatus.GATEWAY_TIMEOUT, "no response in time");
    }

    /** One request and its response. */
    final class Exchange implements ResponseParser.Listener {
        private final Routed routed;
        private final HttpRequest request;
        private final boolean upgradable;
        private final boolean upstreamChunked;
        private ExchangePhase phase;
        /** Body pieces that came before the upstream connection; made when the first does. */
        private List<HttpContent> early = List.of();
        private Channel upstream;
        private ResponseRelay relay;
        private long bodyBytes;
        /** The connection's rate guard while this exchange owes it a request body, else null. */
        private TransferRateGuard owedBodyGuard;
        private int status;
        /** The app keeps its connection open after this response: it can go back to the pool. */
        private boolean upstreamKeepAlive;

        Exchange(Routed routed) {
            this.routed = routed;
            this.request = routed.request();
            this.upgradable = writer.upgradable(request);
            this.upstreamChunked = ForwardedHeaders.upstreamChunked(request);
            // An HTTP/2 request without a body arrives whole (HEADERS with END_STREAM): its
            // end is already here, and the upstream connection can be reused after it.
            this.phase = ExchangePhase.start(request instanceof LastHttpContent);
        }

        void start() {
            writer.begin(request, phase.requestBodyOwed());
            if (phase.requestBodyOwed()) {
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
            if (phase.over() || !ctx.channel().isActive()) {
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
            phase = phase.connected();
            relay = (ResponseRelay) upstream.pipeline().last(); // UpstreamPool puts it last
            relay.bind(this, request.method() == HttpMethod.HEAD, writer.payloadOnly());
            if (clientIp == null) {
                clientIp = AccessLogHandler.clientIp(ctx.channel());
            }
            // Void promises: nothing waits on these writes; a failure closes the connection.
            upstream.write(ForwardedHeaders.upstreamHead(upstream.alloc(), request, clientIp, overTls, upgradable,
                    underscoresAllowed),
                    upstream.voidPromise());
            if (request instanceof LastHttpContent whole) {
                whole.release(); // an HTTP/2 request that came whole: its body is empty
            }
            early.forEach(this::sendUp);
            early = List.of();
            LoopFlushes.flushSoon(upstream);
            if (phase == ExchangePhase.AWAITING_RESPONSE) {
                armResponseTimer();
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
            boolean last = content instanceof LastHttpContent;
            if (last) {
                phase = phase.requestRead();
                bodyNoLongerOwed();
            }
            if (phase.connecting()) {
                if (early.isEmpty()) {
                    early = new ArrayList<>();
                }
                early.add(content);
                return;
            }
            sendUp(content);
            if (last) {
                upstream.flush();
                if (phase == ExchangePhase.AWAITING_RESPONSE) {
                    armResponseTimer();
                }
            }
        }

        /** A piece of the request body, framed as the head sent upstream said. */
        private void sendUp(HttpContent content) {
            ByteBuf data = content.content();
            if (!upstreamChunked) {
                upstream.write(data, upstream.voidPromise()); // the decoder delivers exactly Content-Length bytes
                return;
            }
            if (data.isReadable()) {
                ChunkFraming.write(upstream, upstream.alloc(), data);
            } else {
                data.release();
            }
            if (content instanceof LastHttpContent) {
                // The client's trailer fields, if any, stay here: nothing upstream asked for them.
                ChunkFraming.writeLast(upstream, upstream.alloc());
            }
        }

        void upstreamWritabilityChanged(boolean writable) {
            if (writable) {
                ReadPauses.resume(ctx.channel(), ReadPauses.PEER_BUSY);
            }
        }

        @Override
        public boolean head(ResponseHead head, ResponseHead.Framing framing, ByteBuf arrivedIn) {
            if (phase.over()) {
                return false;
            }
            status = head.status();
            if (status == 101) {
                if (upgradable) {
                    switchToRelay(head);
                } else {
                    fail(HttpResponseStatus.BAD_GATEWAY, "101 to a request that asked for no upgrade");
                }
                return false;
            }
            phase = phase.responseBegan();
            upstreamKeepAlive = head.keepAlive() && framing != ResponseHead.Framing.CLOSE;
            boolean bodyTaken = writer.head(head, framing, arrivedIn);
            if (bodyTaken) {
                routed.traffic().webBytesOut.add(head.contentLength()); // body() never sees these bytes
            }
            return bodyTaken;
        }

        @Override
        public void body(ByteBuf bytes) {
            if (phase.over()) {
                bytes.release();
                return;
            }
            routed.traffic().webBytesOut.add(bytes.readableBytes());
            if (writer.body(bytes) && !ctx.channel().isWritable()) {
                // Pause before flushing: the flush may drain the buffer and fire the
                // writability event at once, and a pause after it would never be lifted.
                ReadPauses.pause(upstream, ReadPauses.PEER_BUSY);
                writer.flushBlocked();
            }
        }

        @Override
        public void end(long payloadBytes) {
            if (phase.over()) {
                return;
            }
            boolean bodyCutShort = phase.requestBodyOwed();
            phase = phase.responseEnded();
            writer.end(status, payloadBytes);
            finish(bodyCutShort);
        }

        @Override
        public void malformed(String why) {
            fail(HttpResponseStatus.BAD_GATEWAY, "unparsable response: " + why);
        }

        /** Bytes the app sent right after its 101, in the same read: already the relayed protocol. */
        void afterSwitch(ByteBuf bytes) {
            if (phase == ExchangePhase.UPGRADED) {
                ctx.channel().writeAndFlush(bytes);
            } else {
                bytes.release(); // a 101 nobody asked for: the exchange failed, the upstream is closing
            }
        }

        void upstreamReadComplete() {
            if (!phase.over()) {
                writer.upstreamReadComplete();
            }
        }

        /**
         * Response fully written: the upstream goes back to the pool if it can be reused.
         *
         * @param bodyCutShort the app answered before the request body was all sent
         */
        private void finish(boolean bodyCutShort) {
            bodyNoLongerOwed();
            relay.unbind();
            ReadPauses.resume(upstream, ReadPauses.PEER_BUSY);
            if (!bodyCutShort && upstreamKeepAlive) {
                pool.release(idleHere, routed.upstream(), upstream); // upstreams live on the client's loop
            } else {
                upstream.close();
            }
            current = null;
            ReadPauses.resume(ctx.channel(), ReadPauses.PEER_BUSY);
            if (bodyCutShort || writer.closeAfter()) {
                // Nobody will read the rest of the body, or the client wants no more (or its
                // body ends with the close).
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
        }

        void upstreamClosed() {
            if (phase.over()) {
                return;
            }
            if (phase.responseBegun()) {
                LOG.debug("{} closed mid-response; closing the client", routed.upstream());
                abort();
                ctx.flush();
                ctx.close();
            } else {
                fail(HttpResponseStatus.BAD_GATEWAY, routed.upstream() + " closed before answering");
            }
        }

        /** Ends the exchange with an error page (or a close if the response has begun). */
        void fail(HttpResponseStatus status, String why) {
            if (phase.over()) {
                return;
            }
            LOG.debug("tenant {}: {} -> {}", routed.site().tenant(), why, status.code());
            boolean responseBegun = phase.responseBegun();
            abort();
            if (responseBegun) {
                ctx.flush();
                ctx.close();
            } else {
                ErrorPages.send(ctx, ErrorPages.page(status), true);
            }
        }

        void clientClosed() {
            if (!phase.over()) {
                abort();
            }
        }

        /** The exchange ends early: what it holds is dropped, its upstream closed (mid-exchange: never reused). */
        private void abort() {
            phase = phase.aborted();
            current = null;
            writer.abandon();
            bodyNoLongerOwed();
            if (upstream != null) {
                relay.unbind();
                upstream.close();
            }
            early.forEach(ReferenceCountUtil::release);
            early = List.of();
        }

        private void bodyNoLongerOwed() {
            if (owedBodyGuard != null) {
                owedBodyGuard.bodyEnded(ctx.channel());
                owedBodyGuard = null;
            }
        }

        /** 101 from the app: pass it on, then both connections become a plain byte relay. */
        private void switchToRelay(ResponseHead head) {
            bodyNoLongerOwed();
            phase = phase.upgraded();
            current = null;
            relay.unbind();
            writer.switched(head);
            RawRelay.join(ctx.channel(), upstream, routed.traffic(), httpHandlerNames);
        }
    }
}
