package dev.emperor.proxy.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.util.ArrayList;
import java.util.List;
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
 */
final class Forwarder extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(Forwarder.class);

    private final UpstreamPool pool;
    private final boolean overTls;
    private final boolean http2Stream;
    /** The client pipeline's HTTP handlers, removed when a WebSocket upgrade succeeds. */
    private final List<String> httpHandlerNames;
    private ChannelHandlerContext ctx;
    private Exchange current;
    /** The client's address as text, worked out once per connection. */
    private String clientIp;
    /**
     * The exchange waiting for its response head, and until when. One timer per connection
     * serves every exchange: it is re-armed when it fires early, never cancelled and
     * scheduled anew per request (which cost a priority-queue insert and removal each).
     */
    private Exchange awaitingResponse;
    private long responseDeadline;
    private ScheduledFuture<?> responseTimer;

    Forwarder(UpstreamPool pool, boolean overTls, boolean http2Stream, List<String> httpHandlerNames) {
        this.pool = pool;
        this.overTls = overTls;
        this.http2Stream = http2Stream;
        this.httpHandlerNames = httpHandlerNames;
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
            current.upstream.flush();
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

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("client connection failed", cause);
        ctx.close();
    }

    /** One request and its response. */
    final class Exchange {
        private final Routed routed;
        private final HttpRequest request;
        private final boolean webSocket;
        private final List<HttpContent> early = new ArrayList<>();
        private Channel upstream;
        private ResponseRelay relay;
        private boolean requestDone;
        private boolean responseStarted;
        private boolean responseDone;
        private boolean skippingInformational;
        private boolean upstreamKeepAlive;
        private long bodyBytes;
        /** The connection's rate guard while this exchange owes it a request body, else null. */
        private TransferRateGuard owedBodyGuard;

        Exchange(Routed routed) {
            this.routed = routed;
            this.request = routed.request();
            this.webSocket = !http2Stream && ForwardedHeaders.isWebSocketUpgrade(request);
            // An HTTP/2 request without a body arrives whole (HEADERS with END_STREAM): its
            // end is already here, and the upstream connection can be reused after it.
            this.requestDone = request instanceof LastHttpContent;
        }

        void start() {
            if (!requestDone) {
                owedBodyGuard = TransferRateGuard.of(ctx.channel());
                if (owedBodyGuard != null) {
                    owedBodyGuard.bodyStarted(ctx.channel());
                }
            }
            Future<Channel> acquired = pool.acquire(ctx.channel().eventLoop(), routed.upstream());
            if (acquired.isDone()) {
                connected(acquired); // a pooled connection: no pause, no listener
                return;
            }
            // Body bytes arriving before the upstream connects wait in `early`; keep it small.
            ReadPauses.pause(ctx.channel(), ReadPauses.CONNECTING);
            acquired.addListener(f -> {
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
            upstream = (Channel) f.getNow();
            relay = upstream.pipeline().get(ResponseRelay.class);
            relay.bind(this);
            if (clientIp == null) {
                clientIp = AccessLogHandler.clientIp(ctx.channel());
            }
            upstream.write(ForwardedHeaders.upstreamRequest(request, clientIp, overTls, webSocket));
            if (request instanceof LastHttpContent whole) {
                // Ends the upstream request (the codec's state too); the body is empty.
                whole.release();
                upstream.write(LastHttpContent.EMPTY_LAST_CONTENT);
            }
            early.forEach(upstream::write);
            early.clear();
            upstream.flush();
            if (requestDone) {
                armTimer();
            }
            if (!upstream.isWritable()) {
                ReadPauses.pause(ctx.channel(), ReadPauses.PEER_BUSY);
            }
        }

        void fromClient(HttpContent content) {
            bodyBytes += content.content().readableBytes();
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
                early.add(content);
                return;
            }
            upstream.write(content);
            if (requestDone) {
                upstream.flush();
                armTimer();
            }
            if (!upstream.isWritable()) {
                ReadPauses.pause(ctx.channel(), ReadPauses.PEER_BUSY);
            }
        }

        void upstreamWritabilityChanged(boolean writable) {
            if (writable) {
                ReadPauses.resume(ctx.channel(), ReadPauses.PEER_BUSY);
            }
        }

        void fromUpstream(HttpObject object) {
            if (responseDone || current != this) {
                ReferenceCountUtil.release(object);
                return;
            }
            if (object.decoderResult().isFailure()) {
                ReferenceCountUtil.release(object);
                fail(HttpResponseStatus.BAD_GATEWAY, "unparsable response: " + object.decoderResult().cause());
                return;
            }
            if (object instanceof HttpResponse response) {
                int code = response.status().code();
                if (code == 101 && webSocket) {
                    switchToRelay(response);
                    return;
                }
                if (code < 200) {
                    // 1xx: the proxy answered Expect itself; the interim message ends with
                    // its own (empty) LastHttpContent, which must not end this exchange.
                    skippingInformational = true;
                    ReferenceCountUtil.release(object);
                    return;
                }
                skippingInformational = false;
                cancelTimer();
                responseStarted = true;
                upstreamKeepAlive = HttpUtil.isKeepAlive(response);
                ctx.write(ForwardedHeaders.clientResponse(response, request.protocolVersion(), false));
            }
            if (object instanceof HttpContent content) {
                if (skippingInformational) {
                    skippingInformational = !(content instanceof LastHttpContent);
                    content.release();
                    return;
                }
                boolean last = content instanceof LastHttpContent;
                ctx.write(content);
                if (last) {
                    responseDone = true;
                    ctx.flush();
                    finish();
                } else if (!ctx.channel().isWritable()) {
                    // Pause before flushing: the flush may drain the buffer and fire the
                    // writability event at once, and a pause after it would never be lifted.
                    ReadPauses.pause(upstream, ReadPauses.PEER_BUSY);
                    ctx.flush();
                }
            }
        }

        void upstreamReadComplete() {
            if (current == this) {
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
                pool.release(routed.upstream(), upstream);
            } else {
                upstream.close();
            }
            current = null;
            ReadPauses.resume(ctx.channel(), ReadPauses.PEER_BUSY);
            if (!requestDone) {
                // The app answered before the body was all sent; nobody will read the rest.
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
            early.clear();
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
            early.clear();
        }

        private void dropUpstream() {
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
        private void switchToRelay(HttpResponse response) {
            bodyNoLongerOwed();
            cancelTimer();
            responseStarted = true;
            responseDone = true;
            current = null;
            relay.unbind();
            HttpResponse head = ForwardedHeaders.clientResponse(response, HttpVersion.HTTP_1_1, true);
            DefaultFullHttpResponse switching = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, head.status(),
                    Unpooled.EMPTY_BUFFER, head.headers(), io.netty.handler.codec.http.EmptyHttpHeaders.INSTANCE);
            Channel client = ctx.channel();
            ctx.writeAndFlush(switching); // encoded now, before the encoder leaves the pipeline

            ChannelPipeline up = upstream.pipeline();
            up.addLast("raw", new RawRelay(client));
            up.remove(ResponseRelay.class);
            up.remove("codec");
            ChannelPipeline down = client.pipeline();
            down.addLast("raw", new RawRelay(upstream));
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
