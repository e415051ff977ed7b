package dev.emperor.supervisor;

import dev.emperor.proxy.ConnectionLimits;
import dev.emperor.proxy.FrontProxy;
import dev.emperor.proxy.ProxyOptions;
import dev.emperor.proxy.TenantTraffic;
import dev.emperor.proxy.acme.PendingChallenges;
import dev.emperor.proxy.http.AccessLog;
import dev.emperor.proxy.l4.PortAllocator;
import dev.emperor.proxy.l4.PortForwarder;
import dev.emperor.proxy.tls.CertificateRefused;
import dev.emperor.proxy.tls.CertificateStore;
import dev.emperor.proxy.tls.TlsFrontend;
import dev.emperor.supervisor.config.ClientLimits;
import dev.emperor.supervisor.config.EmperorConfig;
import dev.emperor.supervisor.config.ProxySettings;
import dev.emperor.supervisor.domains.DomainOwnership;
import dev.emperor.supervisor.lifecycle.TenantLauncher;
import dev.emperor.supervisor.network.TenantNetwork;
import dev.emperor.supervisor.state.CertificateOrigin;
import dev.emperor.supervisor.state.SqlitePortLedger;
import dev.emperor.supervisor.state.StateStore;
import dev.emperor.supervisor.web.AcmeCertificates;
import dev.emperor.supervisor.web.StoredTraffic;
import dev.emperor.supervisor.web.TenantRoutes;
import dev.emperor.tunrouter.PublicListener;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The front proxy and what hangs off it: HTTP and HTTPS listeners, public port forwards,
 * tenants' routes and certificates, ACME, stored traffic counts, the connection caps, and the
 * kernel rules that let tenants reach the public listeners. Started once; a SIGHUP changes it
 * through {@link #reloadedCertificates}, {@link #listenOn} and {@link #reloaded}.
 */
final class FrontProxyWiring implements AutoCloseable {
    /** Emperor's logger: its lines read as they did before this class was split out of it. */
    private static final Logger log = LoggerFactory.getLogger(Emperor.class);

    private final Path configFile;
    private final Supplier<EmperorConfig> config;
    private final StateStore store;
    private final TenantNetwork network;
    private final TenantLauncher launcher;
    private final ScheduledExecutorService timers;
    /** How many tenants keep descriptors of their own (see {@link #fitConnectionCapToTenants}). */
    private final IntSupplier tenants;
    /** Replaces the kernel table when the platform's public listeners change (nft runs here, off every lock). */
    private final ExecutorService listenerUpdates = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform()
            .name("public-listeners").daemon().unstarted(r));
    private final AtomicBoolean listenersUpdatePending = new AtomicBoolean();
    /** Reading the listeners and installing them is one step, so an older list never replaces a newer one. */
    private final Object listenersLock = new Object();
    private MultiThreadIoEventLoopGroup proxyLoops;
    private volatile FrontProxy frontProxy;
    private PortForwarder forwarder;
    private TenantRoutes routes;
    private AcmeCertificates acme;
    private StoredTraffic storedTraffic;

    FrontProxyWiring(Path configFile, Supplier<EmperorConfig> config, StateStore store, TenantNetwork network,
            TenantLauncher launcher, ScheduledExecutorService timers, IntSupplier tenants) {
        this.configFile = configFile;
        this.config = config;
        this.store = store;
        this.network = network;
        this.launcher = launcher;
        this.timers = timers;
        this.tenants = tenants;
    }

    /**
     * The front proxy: HTTP and HTTPS listeners, public port forwards, all on one epoll event
     * loop group (one thread per core). Tenants' sites and ports arrive through the launcher's
     * live settings ({@link TenantRoutes}), before any vassal file is read. A listen address
     * in use is a start-up error naming it.
     */
    void start() throws IOException {
        EmperorConfig cfg = config.get();
        ProxySettings settings = cfg.proxy();
        proxyLoops = new MultiThreadIoEventLoopGroup(Runtime.getRuntime().availableProcessors(),
                EpollIoHandler.newFactory());
        Files.createDirectories(settings.certDir());
        Files.createDirectories(settings.accessLogDir());
        CertificateStore certificates;
        try {
            certificates = certificateStore(settings);
        } catch (CertificateRefused e) {
            throw new IOException(configFile + ": tls-cert: " + e.getMessage());
        }
        PendingChallenges challenges = new PendingChallenges();
        Optional<String> fdProblem = settings.clientLimits().fdLimitProblem(ConnectionLimits.openFileLimit());
        if (fdProblem.isPresent()) throw new IOException(configFile + ": " + fdProblem.get());
        ProxyOptions options = settings.clientLimits().applyTo(ProxyOptions.defaults().withHttpListen(settings.httpListen()));
        logConnectionLimits(settings.clientLimits());
        FrontProxy proxy = new FrontProxy(options, proxyLoops, challenges, accessLogs(cfg));
        frontProxy = proxy;
        // Before the first connection: counts carry on from what the last run stored.
        storedTraffic = StoredTraffic.restore(proxy.traffic(), store);
        storedTraffic.flushPeriodically(timers);
        proxy.start();
        forwarder = new PortForwarder(proxyLoops, proxy.clientConnections(), proxy.traffic());
        forwarder.onListenersChanged(this::publicListenersChanged);
        PortAllocator allocator = new PortAllocator(settings.portLow(), settings.portHigh(), store.ports());
        // domain-allow as now in force: a SIGHUP's change applies to claims from then on
        DomainOwnership domains = new DomainOwnership(store, () -> config.get().proxy().domainAllow(), Clock.systemUTC());
        allocator.setLimits(settings.portLimits());
        routes = new TenantRoutes(proxy, certificates, allocator, forwarder, store, domains,
                cfg.runDir().resolve("vassals"), network::addressOf);
        routes.setPortListen(settings.portListen());
        TenantRoutes tenantRoutes = routes;
        // every handshake asks the routes' current store: SIGHUP may replace it
        proxy.startHttps(settings.httpsListen(), new TlsFrontend(tenantRoutes::serverContext, proxy.overTls()));
        openPublicListenersToTenants();
        acme = new AcmeCertificates(routes, store, challenges, cfg.stateDir().resolve("acme/account.pem"),
                () -> config.get().proxy(), Clock.systemUTC());
        routes.onSitesChanged(acme::sitesChanged);
        routes.onTenantForgotten(acme::forget);
        acme.start();
        launcher.setLiveSettingsListener(routes);
        log.info("front proxy: http {}, https {}, public ports {}", proxy.httpAddresses(),
                proxy.httpsAddresses(), allocator.range());
    }

    /** The front proxy; null before {@link #start}. */
    FrontProxy proxy() {
        return frontProxy;
    }

    /** Tenants' web sites, certificates and public ports. */
    TenantRoutes routes() {
        return routes;
    }

    /** ACME issuance and renewal of tenants' certificates. */
    AcmeCertificates acme() {
        return acme;
    }

    /** The traffic counts the state database keeps; null before {@link #start}. */
    StoredTraffic storedTraffic() {
        return storedTraffic;
    }

    /** Each tenant's requests and bytes through the front proxy and its public ports, since counting began. */
    TenantTraffic.Totals traffic(String tenant) {
        return frontProxy.traffic().totals(tenant);
    }

    /** A public port opened or closed: the kernel table follows, soon, on its own thread (changes in a burst fold into one). */
    private void publicListenersChanged() {
        if (listenersUpdatePending.compareAndSet(false, true)) {
            try {
                listenerUpdates.execute(() -> {
                    listenersUpdatePending.set(false); // a change from now on is picked up by the next run
                    openPublicListenersToTenants();
                });
            } catch (RejectedExecutionException e) {
                // the emperor is closing: its forwards close, and the kernel table no longer follows them
            }
        }
    }

    /**
     * Hairpin: tenants reach the front proxy's listeners and the public ports at the host's own
     * addresses exactly as an outside client does (a site calling another by its public name),
     * and nothing else on the host. The proxy sees each tenant's own tun address as the client
     * (no NAT on the way in), so per-client limits and X-Forwarded-For tell tenants apart.
     */
    private void openPublicListenersToTenants() {
        synchronized (listenersLock) {
            List<InetSocketAddress> bound = new ArrayList<>(frontProxy.httpAddresses());
            bound.addAll(frontProxy.httpsAddresses());
            bound.addAll(forwarder.listening());
            List<PublicListener> listeners = bound.stream()
                    .map(PublicListener::reachableByTenants).flatMap(Optional::stream)
                    .distinct().sorted(Comparator.comparingInt(PublicListener::port)
                            .thenComparingInt(PublicListener::address))
                    .toList();
            try {
                network.setPublicListeners(listeners);
            } catch (RuntimeException e) {
                // nft replaces the table in one transaction: on failure the previous rules hold
                log.error("network: cannot open the public listeners {} to tenants: {}", listeners, e.getMessage());
            }
        }
    }

    /**
     * Says how many client connections the proxy will hold, and why: max-connections above what
     * the open-file limit carries is lowered to it (more would end in failed accepts and spawns).
     */
    private void logConnectionLimits(ClientLimits limits) {
        long fdLimit = ConnectionLimits.openFileLimit();
        ConnectionLimits applied = limits.connectionLimits(fdLimit);
        if (limits.maxConnections() > applied.total()) {
            log.warn("{}: max-connections {} is more than the open-file limit {} carries; using {} (raise LimitNOFILE)",
                    configFile, limits.maxConnections(), fdLimit, applied.total());
        }
        log.info("front proxy: at most {} client connections (open-file limit {}), {} per client address, {} per client"
                + " and site", applied.total(), fdLimit, applied.perClient(), applied.perClientPerSite());
    }

    /** The tenant certificate store of these settings, with the platform certificate (tls-cert) if given. */
    private CertificateStore certificateStore(ProxySettings settings) throws IOException, CertificateRefused {
        Files.createDirectories(settings.certDir());
        // a certificate of the older one-per-tenant layout keeps the origin recorded for its tenant
        CertificateStore certificates = new CertificateStore(settings.certDir(), settings.platformDomain().orElse(null),
                Clock.systemUTC(), tenant -> store.certificates().origin(tenant)
                        .filter(origin -> origin == CertificateOrigin.ACME)
                        .map(origin -> CertificateStore.Origin.ACME).orElse(CertificateStore.Origin.UPLOAD));
        for (String problem : certificates.loadProblems()) log.error("certificate not loaded: {}", problem);
        if (settings.tlsCert().isPresent()) {
            certificates.usePlatformCertificate(settings.tlsCert().get(), settings.tlsKey().orElseThrow());
        }
        return certificates;
    }

    /** The tenants' access logs: where, and rotated like their own logs (log-max-size, log-keep). */
    private static AccessLog.Settings accessLogs(EmperorConfig cfg) {
        return new AccessLog.Settings(cfg.proxy().accessLogDir(), cfg.logMaxSize(), cfg.logKeep());
    }

    /**
     * The proxy's connection total keeps descriptors for every tenant (ConnectionLimits.FDS_PER_TENANT):
     * as tenants come and go it follows, so a full proxy never starves a spawn of descriptors.
     */
    void fitConnectionCapToTenants() {
        FrontProxy proxy = frontProxy;
        if (proxy == null) return;
        try {
            var clients = proxy.clientConnections();
            int count = tenants.getAsInt();
            int total = config.get().proxy().clientLimits().connectionLimits(ConnectionLimits.openFileLimit(), count).total();
            if (clients.limits().total() != total) {
                log.info("front proxy: at most {} client connections now ({} tenants keep descriptors of their own)",
                        total, count);
                clients.use(clients.limits().withTotal(total));
            }
        } catch (RuntimeException e) {
            log.error("fitting the proxy's connection total to the tenants: {}", e.toString());
        }
    }

    // ---- SIGHUP -----------------------------------------------------------------------------

    /**
     * SIGHUP's certificates: a new store when cert-dir or platform-domain changed or tls-cert
     * was dropped (a store cannot forget its platform certificate); otherwise the platform
     * certificate is read again into the running store, so a wildcard renewed in place is
     * served from the next handshake on. Null when there is nothing to swap.
     */
    CertificateStore reloadedCertificates(ProxySettings old, ProxySettings fresh) throws IOException, CertificateRefused {
        if (ConfigReload.needsNewCertificateStore(old, fresh)) {
            log.info("SIGHUP: certificates from {} (platform certificate {})", fresh.certDir(),
                    fresh.tlsCert().map(Path::toString).orElse("none"));
            return certificateStore(fresh);
        }
        if (fresh.tlsCert().isPresent()) {
            routes.certificateStore().usePlatformCertificate(fresh.tlsCert().get(), fresh.tlsKey().orElseThrow());
        }
        return null;
    }

    /**
     * SIGHUP's listeners: the proxy binds the new addresses, then stops listening on the old
     * ones. An address that cannot be bound changes none of them. Returns the settings whose
     * listen keys say what the proxy listens on now (the running ones after a failure, so the
     * next SIGHUP tries again; the running ones too before the proxy started).
     */
    ProxySettings listenOn(ProxySettings running, ProxySettings wanted) {
        FrontProxy proxy = frontProxy;
        if (proxy == null) return running;
        if (running.httpListen().equals(wanted.httpListen()) && running.httpsListen().equals(wanted.httpsListen())) {
            return running;
        }
        try {
            proxy.listenOn(wanted.httpListen(), wanted.httpsListen());
            log.info("front proxy: now listening on http {}, https {}", proxy.httpAddresses(), proxy.httpsAddresses());
            openPublicListenersToTenants();
            return wanted;
        } catch (IOException e) {
            log.error("{}: http-listen/https-listen: {}; still listening on http {}, https {}", configFile, e.getMessage(),
                    proxy.httpAddresses(), proxy.httpsAddresses());
            return running;
        }
    }

    /**
     * SIGHUP applied {@code now}: the proxy takes its certificates (when {@code certificates}
     * is not null), port limits and listen addresses, access logs and client limits, and ACME
     * its settings.
     */
    void reloaded(EmperorConfig now, ProxySettings previous, CertificateStore certificates) {
        ProxySettings fresh = now.proxy();
        if (certificates != null) routes.useCertificateStore(certificates);
        if (routes != null && !fresh.portLimits().equals(previous.portLimits())) {
            routes.setPortLimits(fresh.portLimits());
        }
        if (routes != null) routes.setPortListen(fresh.portListen());
        FrontProxy proxy = frontProxy;
        if (proxy != null) {
            proxy.useAccessLogs(accessLogs(now));
            proxy.useLimits(fresh.clientLimits().applyTo(ProxyOptions.defaults(),
                    ConnectionLimits.openFileLimit(), tenants.getAsInt()));
            logConnectionLimits(fresh.clientLimits());
        }
        acme.settingsChanged();
    }

    /** The kernel table stops following the public listeners (the emperor is closing). */
    void stopFollowingListeners() {
        listenerUpdates.shutdownNow();
    }

    @Override
    public void close() {
        stopFollowingListeners();
        if (acme != null) acme.close();
        if (forwarder != null) forwarder.close();
        if (frontProxy != null) frontProxy.close();
        if (proxyLoops != null) proxyLoops.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        if (storedTraffic != null) {
            try {
                storedTraffic.flush(); // the proxy is closed: these are the final counts
            } catch (RuntimeException e) {
                log.error("storing the final web traffic counters failed", e);
            }
        }
    }
}
