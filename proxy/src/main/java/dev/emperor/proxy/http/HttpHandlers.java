package dev.emperor.proxy.http;

import dev.emperor.proxy.AcmeChallenges;
import dev.emperor.proxy.ClientConnections;
import dev.emperor.proxy.ProxyOptions;
import dev.emperor.proxy.SiteTable;
import dev.emperor.proxy.TenantAvailability;
import dev.emperor.proxy.TenantTraffic;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2Stream;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Builds the HTTP part of a client pipeline. In order, for HTTP/1.1:
 * <pre>
 *   rate                minimum data rates both ways (first in the connection, before TLS)
 *   idleClose           close connections with no traffic either way
 *   decoder, encoder    strict HTTP/1.1 parsing (obs-fold refused too; a started head must
 *                       finish in time: slowloris) / response writing (relayed responses
 *                       are bytes already; the proxy's own pages objects)
 *   guard               400/414/431 for anything two parsers could read differently
 *   gate                one request at a time (pipelined requests wait)
 *   accessLog           one line per answered request, per tenant
 *   router              ACME, Host → tenant, redirect, limits, maintenance
 *   forwarder           the exchange with the tenant's app (and 100 Continue, once routed);
 *                       responses written by an Http1ResponseWriter
 * </pre>
 * An HTTP/2 stream already carries HttpRequest/HttpContent objects (its codec sits in front)
 * and has no keep-alive or pipelining of its own: it gets guard, accessLog, router, forwarder
 * (with an Http2ResponseWriter).
 * The HTTP/2 connection itself gets rate and idleClose once, when ALPN picks h2
 * ({@link #installHttp2Connection}), and streamRate between its codec and the multiplexer
 * (streams whose response flow control holds back).
 */
public final class HttpHandlers {

    private static final List<String> HTTP1_NAMES = List.of("decoder", "encoder", "guard", "gate",
            "accessLog", "router", "forwarder");

    /** Limits for connections accepted from now on; see {@link #useOptions}. */
    private volatile ProxyOptions options;
    private final Supplier<SiteTable> sites;
    private final AcmeChallenges acme;
    private final AccessLog accessLog;
    private final TenantConnections connections = new TenantConnections();
    private final TenantAvailability availability = new TenantAvailability();
    private final TenantTraffic traffic;
    private final UpstreamPool pool;

    public HttpHandlers(ProxyOptions options, Supplier<SiteTable> sites, AcmeChallenges acme, AccessLog accessLog,
            TenantTraffic traffic) {
        this.options = options;
        this.traffic = traffic;
        this.sites = sites;
        this.acme = acme;
        this.accessLog = accessLog;
        this.pool = new UpstreamPool(options.upstreamConnectTimeout().toMillis(),
                options.idleTimeout().toNanos(), options.upstreamResponseTimeout().toNanos());
    }

    /**
     * Limits (timeouts, header size, data rates) for the connections accepted from now on and
     * the upstream connections and requests they make; connections already open keep theirs.
     */
    public void useOptions(ProxyOptions options) {
        this.options = options;
        pool.timeouts(options.upstreamConnectTimeout().toMillis(), options.idleTimeout().toNanos(),
                options.upstreamResponseTimeout().toNanos());
    }

    /** Which tenants' apps cannot answer now: their sites get 503 at once. */
    public TenantAvailability availability() {
        return availability;
    }

    public void install(ChannelPipeline p, boolean overTls, boolean http2Stream) {
        ProxyOptions options = this.options;
        if (!http2Stream) {
            // A client's FIN after its request (nc, HTTP/1.0 scripts, probes) still gets the
            // answer: the PipeliningGate closes once the requests already read are answered.
            p.channel().config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
            addRateGuard(p, options);
            p.addLast("idleClose", new IdleCloser(options.idleTimeout().toNanos()))
                    .addLast("decoder", new StrictRequestDecoder(options.maxHeaderBytes(),
                            options.headerReadTimeout().toNanos()))
                    .addLast("encoder", new ResponseEncoder());
        }
        p.addLast("guard", new RequestGuard(http2Stream));
        PipeliningGate gate = http2Stream ? null : new PipeliningGate(ClientConnections.of(p.channel()));
        if (gate != null) {
            p.addLast("gate", gate);
        }
        AccessLogHandler log = new AccessLogHandler(accessLog);
        p.addLast("accessLog", log)
                .addLast("router", new SiteRouter(sites, acme, connections, availability, overTls, http2Stream, log,
                        traffic))
                .addLast("forwarder", new Forwarder(pool, overTls, HTTP1_NAMES, options.underscoresInHeaders(),
                        responseWriter(http2Stream, log, gate)));
    }

    /** How the forwarder writes responses: HTTP objects to a stream, bytes to an HTTP/1.1 client. */
    private static Function<ChannelHandlerContext, ResponseWriter> responseWriter(boolean http2Stream,
                                                                                  AccessLogHandler log,
                                                                                  PipeliningGate gate) {
        if (http2Stream) {
            return Http2ResponseWriter::new; // the access log sees its objects on their way out
        }
        return ctx -> new Http1ResponseWriter(ctx, (status, bytes) -> {
            log.responseWritten(status, bytes); // first the log, then the gate (which lets the next request in)
            gate.responseWritten();
        });
    }

    /**
     * An HTTP/2 connection (its codec already in {@code connection}): the idle timeout and the
     * minimum data rate guard the connection as a whole, since its streams come and go; without
     * the idle timeout a client could hold a connection with no stream open for ever.
     */
    public void installHttp2Connection(ChannelPipeline connection) {
        ProxyOptions options = this.options;
        connection.addFirst("idleClose", new IdleCloser(options.idleTimeout().toNanos()));
        addRateGuard(connection, options);
        ClientConnections.Client client = ClientConnections.of(connection.channel());
        Http2FrameCodec http2 = connection.get(Http2FrameCodec.class);
        if (client != null) {
            // Idle (may be closed when connections run short) while no stream is open.
            http2.connection().addListener(new Http2ConnectionAdapter() {
                @Override
                public void onStreamActive(Http2Stream stream) {
                    client.busy();
                }

                @Override
                public void onStreamClosed(Http2Stream stream) {
                    if (http2.connection().numActiveStreams() == 0) {
                        client.idle();
                    }
                }
            });
        }
        if (options.minDataRate() > 0) {
            // Right after the codec: it sees the stream WINDOW_UPDATEs the multiplexer swallows.
            Http2FrameCodec codec = connection.get(Http2FrameCodec.class);
            connection.addAfter(connection.context(codec).name(), "streamRate",
                    new StalledStreamGuard(codec.connection(), options.minDataRate(), options.rateGrace().toNanos()));
        }
    }

    /** First in the connection, before TLS: it counts the bytes that cross the socket. */
    private static void addRateGuard(ChannelPipeline connection, ProxyOptions options) {
        if (options.minDataRate() > 0) {
            connection.addFirst("rate", new TransferRateGuard(options.minDataRate(), options.rateGrace().toNanos()));
        }
    }

    /** Client connections currently counted against {@code tenant}'s limit. */
    public int openConnections(String tenant) {
        return connections.open(tenant);
    }
}
