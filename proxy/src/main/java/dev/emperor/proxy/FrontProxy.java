package dev.emperor.proxy;

import dev.emperor.proxy.http.AccessLog;
import dev.emperor.proxy.http.HttpHandlers;
import dev.emperor.proxy.tls.HttpInstaller;
import dev.emperor.proxy.tls.TlsFrontend;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The public face of the proxy: one set of listeners for every tenant. HTTP is routed by
 * Host; the HTTPS listeners ({@link #startHttps}) put the TLS side's SNI/ALPN handlers first,
 * which hand each connection, or each HTTP/2 stream, to the HTTP handlers ({@link #overTls}).
 *
 * <p>The site table is swapped whole by {@link #setSites}: requests already forwarded and
 * open WebSockets keep the upstream they were given; only new requests see the new table.
 */
public final class FrontProxy implements AutoCloseable {

    private final ProxyOptions options;
    private final EventLoopGroup group;
    private final AccessLog accessLog;
    private final HttpHandlers httpHandlers;
    /** Every client connection, HTTP, HTTPS and (through {@link #clientConnections}) public ports. */
    private final ClientConnections clients;
    /** The listeners by the address they were asked for (port 0 stays 0 here), for {@link #listenOn}. */
    private final Map<InetSocketAddress, Channel> httpByAddress = new LinkedHashMap<>();
    private final Map<InetSocketAddress, Channel> httpsByAddress = new LinkedHashMap<>();
    private TlsFrontend tls;
    private volatile SiteTable sites = SiteTable.EMPTY;
    /** Requests and bytes per tenant, for its sites and (given to the PortForwarder) its public ports. */
    private final TenantTraffic traffic = new TenantTraffic();

    /** A proxy whose access logs are never rotated (tests, benchmarks). */
    public FrontProxy(ProxyOptions options, EventLoopGroup group, AcmeChallenges acme, Path accessLogDirectory) {
        this(options, group, acme, AccessLog.Settings.unrotated(accessLogDirectory));
    }

    public FrontProxy(ProxyOptions options, EventLoopGroup group, AcmeChallenges acme, AccessLog.Settings accessLogs) {
        this.options = Objects.requireNonNull(options, "options");
        this.group = Objects.requireNonNull(group, "group");
        this.accessLog = new AccessLog(accessLogs);
        this.clients = new ClientConnections(options.connections());
        this.httpHandlers = new HttpHandlers(options, () -> sites, Objects.requireNonNull(acme, "acme"), accessLog, traffic);
    }

    /**
     * Client and upstream limits for connections accepted from now on (SIGHUP); those already
     * open keep theirs. The listen addresses in {@code options} are not looked at: see
     * {@link #listenOn}.
     */
    public void useLimits(ProxyOptions options) {
        httpHandlers.useOptions(options);
        clients.use(options.connections());
    }

    /** Tell it which tenants' apps cannot answer now (stopped, starting, backing off): 503 at once. */
    public TenantAvailability availability() {
        return httpHandlers.availability();
    }

    /**
     * The connection counts and limits shared by HTTP, HTTPS and the public ports: give it to
     * the {@link dev.emperor.proxy.l4.PortForwarder} so a client's connections count together.
     */
    public ClientConnections clientConnections() {
        return clients;
    }

    /**
     * Each tenant's requests and bytes through its sites; give it to the
     * {@link dev.emperor.proxy.l4.PortForwarder} so its public ports are counted there too.
     */
    public TenantTraffic traffic() {
        return traffic;
    }

    /** Where the per-tenant access logs go and when they are rotated, from now on (SIGHUP). */
    public void useAccessLogs(AccessLog.Settings accessLogs) {
        accessLog.use(accessLogs);
    }

    /**
     * Binds the plain HTTP listeners.
     *
     * @throws IOException naming the address if one cannot be bound (e.g. already in use)
     */
    public synchronized void start() throws IOException {
        for (InetSocketAddress address : options.httpListen()) {
            httpByAddress.put(address, bindHttp(address));
        }
    }

    private Channel bindHttp(InetSocketAddress address) throws IOException {
        return bind(address, channel -> httpHandlers.install(channel.pipeline(), false, false));
    }

    /**
     * Binds HTTPS listeners: each connection goes through {@code tls} (SNI, handshake, ALPN),
     * which hands it, or each HTTP/2 stream, to the installer from {@link #overTls}.
     *
     * @throws IOException naming the address if one cannot be bound
     */
    public synchronized void startHttps(List<InetSocketAddress> addresses, TlsFrontend tls) throws IOException {
        this.tls = tls;
        for (InetSocketAddress address : addresses) {
            httpsByAddress.put(address, bind(address, channel -> tls.install(channel.pipeline())));
        }
    }

    /**
     * Listens on exactly these addresses from now on (SIGHUP): the new ones are bound first,
     * and only once all of them are, those no longer wanted stop listening. Connections they
     * accepted go on. HTTPS needs {@link #startHttps} to have run (it brings the TLS side).
     *
     * @throws IOException naming the address that cannot be bound; nothing has changed then
     */
    public synchronized void listenOn(List<InetSocketAddress> http, List<InetSocketAddress> https) throws IOException {
        if (tls == null && !https.isEmpty()) {
            throw new IOException("HTTPS listeners need the TLS side, which this proxy was started without");
        }
        Map<InetSocketAddress, Channel> newHttp = new LinkedHashMap<>();
        Map<InetSocketAddress, Channel> newHttps = new LinkedHashMap<>();
        try {
            for (InetSocketAddress address : http) {
                if (!httpByAddress.containsKey(address)) {
                    newHttp.put(address, bindHttp(address));
                }
            }
            TlsFrontend frontend = tls;
            for (InetSocketAddress address : https) {
                if (!httpsByAddress.containsKey(address)) {
                    newHttps.put(address, bind(address, channel -> frontend.install(channel.pipeline())));
                }
            }
        } catch (IOException e) {
            newHttp.values().forEach(channel -> channel.close().syncUninterruptibly());
            newHttps.values().forEach(channel -> channel.close().syncUninterruptibly());
            throw e;
        }
        stopListening(httpByAddress, http);
        stopListening(httpsByAddress, https);
        httpByAddress.putAll(newHttp);
        httpsByAddress.putAll(newHttps);
    }

    private void stopListening(Map<InetSocketAddress, Channel> bound, List<InetSocketAddress> wanted) {
        for (var it = bound.entrySet().iterator(); it.hasNext(); ) {
            var entry = it.next();
            if (!wanted.contains(entry.getKey())) {
                entry.getValue().close().syncUninterruptibly(); // the listening socket only
                it.remove();
            }
        }
    }

    private Channel bind(InetSocketAddress address, Consumer<EpollSocketChannel> setUp) throws IOException {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(EpollServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<EpollSocketChannel>() {
                    @Override
                    protected void initChannel(EpollSocketChannel channel) {
                        if (clients.admit(channel, true) == null) {
                            channel.close(); // over a connection limit: closed before a byte is read
                            return;
                        }
                        setUp.accept(channel);
                    }
                });
        ChannelFuture bound = bootstrap.bind(address).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            throw new IOException("cannot listen on " + address.getAddress().getHostAddress() + ":" + address.getPort()
                    + ": " + bound.cause().getMessage(), bound.cause());
        }
        return bound.channel();
    }

    /** The plain HTTP addresses actually bound (useful with port 0). */
    public synchronized List<InetSocketAddress> httpAddresses() {
        return httpByAddress.values().stream().map(c -> (InetSocketAddress) c.localAddress()).toList();
    }

    /** The HTTPS addresses actually bound. */
    public synchronized List<InetSocketAddress> httpsAddresses() {
        return httpsByAddress.values().stream().map(c -> (InetSocketAddress) c.localAddress()).toList();
    }

    /**
     * Replaces the routing table. Returns the names refused because another tenant claimed
     * them first; those tenants' other names are still served.
     */
    public List<SiteTable.Conflict> setSites(Collection<TenantSite> newSites) {
        SiteTable.Built built = SiteTable.build(newSites);
        sites = built.table();
        return built.conflicts();
    }

    public SiteTable sites() {
        return sites;
    }

    /**
     * What a {@link TlsFrontend} hands decrypted connections, HTTP/2 connections and their
     * streams to (a stream's Http2StreamFrameToHttpObjectCodec already turns frames into
     * HttpRequest/HttpContent).
     */
    public HttpInstaller overTls() {
        return new HttpInstaller() {
            @Override
            public void install(ChannelPipeline pipeline, boolean http2Stream) {
                httpHandlers.install(pipeline, true, http2Stream);
            }

            @Override
            public void installHttp2Connection(ChannelPipeline connection) {
                httpHandlers.installHttp2Connection(connection);
            }
        };
    }

    /** Client connections currently counted against a tenant's maxConnections. */
    public int openConnections(String tenant) {
        return httpHandlers.openConnections(tenant);
    }

    /** Stops listening and flushes the access logs. The event loop group belongs to the caller. */
    @Override
    public synchronized void close() {
        for (Channel listener : httpByAddress.values()) {
            listener.close().syncUninterruptibly();
        }
        for (Channel listener : httpsByAddress.values()) {
            listener.close().syncUninterruptibly();
        }
        httpByAddress.clear();
        httpsByAddress.clear();
        accessLog.close();
    }
}
