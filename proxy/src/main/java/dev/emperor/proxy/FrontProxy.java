package dev.emperor.proxy;

import dev.emperor.proxy.http.AccessLog;
import dev.emperor.proxy.http.HttpHandlers;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

/**
 * The public face of the proxy: one set of listeners for every tenant. HTTP is routed by
 * Host; the HTTPS listener (TLS, SNI, ALPN) is bound by the TLS side and hands each
 * connection, or each HTTP/2 stream, to {@link #installHttpHandlers}.
 *
 * <p>The site table is swapped whole by {@link #setSites}: requests already forwarded and
 * open WebSockets keep the upstream they were given; only new requests see the new table.
 */
public final class FrontProxy implements AutoCloseable {

    private final ProxyOptions options;
    private final EventLoopGroup group;
    private final AccessLog accessLog;
    private final HttpHandlers httpHandlers;
    private final List<Channel> listeners = new ArrayList<>();
    private volatile SiteTable sites = SiteTable.EMPTY;

    public FrontProxy(ProxyOptions options, EventLoopGroup group, AcmeChallenges acme, Path accessLogDirectory) {
        this.options = Objects.requireNonNull(options, "options");
        this.group = Objects.requireNonNull(group, "group");
        this.accessLog = new AccessLog(accessLogDirectory);
        this.httpHandlers = new HttpHandlers(options, () -> sites, Objects.requireNonNull(acme, "acme"), accessLog);
    }

    /** Binds the plain HTTP listeners. */
    public synchronized void start() throws InterruptedException {
        for (InetSocketAddress address : options.httpListen()) {
            listeners.add(bind(address, false));
        }
        // The HTTPS listener is added here by the lead: bind(address, true) behind the TLS
        // side's SNI/ALPN handlers, which call installHttpHandlers(p, true, isHttp2Stream).
    }

    private Channel bind(InetSocketAddress address, boolean overTls) throws InterruptedException {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(EpollServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<EpollSocketChannel>() {
                    @Override
                    protected void initChannel(EpollSocketChannel channel) {
                        installHttpHandlers(channel.pipeline(), overTls, false);
                    }
                });
        return bootstrap.bind(address).sync().channel();
    }

    /** The addresses actually bound (useful with port 0). */
    public synchronized List<InetSocketAddress> httpAddresses() {
        return listeners.stream().map(c -> (InetSocketAddress) c.localAddress()).toList();
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
     * Appends the HTTP handlers (limits, routing, forwarding, access log) to a client
     * pipeline. For TLS connections call it after the TLS/ALPN handlers; with
     * {@code http2Stream} the pipeline is an HTTP/2 child stream whose
     * Http2StreamFrameToHttpObjectCodec already turns frames into HttpRequest/HttpContent.
     */
    public void installHttpHandlers(ChannelPipeline p, boolean overTls, boolean http2Stream) {
        httpHandlers.install(p, overTls, http2Stream);
    }

    /** Client connections currently counted against a tenant's maxConnections. */
    public int openConnections(String tenant) {
        return httpHandlers.openConnections(tenant);
    }

    /** Stops listening and flushes the access logs. The event loop group belongs to the caller. */
    @Override
    public synchronized void close() {
        for (Channel listener : listeners) {
            listener.close().syncUninterruptibly();
        }
        listeners.clear();
        accessLog.close();
    }
}
