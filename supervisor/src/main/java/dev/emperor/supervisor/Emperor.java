package dev.emperor.supervisor;

import dev.emperor.jail.Jail;
import dev.emperor.jail.JailSettings;
import dev.emperor.jail.PidfdReaper;
import dev.emperor.jail.TenantProcess;
import dev.emperor.jail.cgroup.CgroupDriver;
import dev.emperor.jail.cgroup.Cgroups;
import dev.emperor.proxy.FrontProxy;
import dev.emperor.proxy.ProxyOptions;
import dev.emperor.proxy.acme.PendingChallenges;
import dev.emperor.proxy.http.AccessLog;
import dev.emperor.proxy.l4.PortAllocator;
import dev.emperor.proxy.ConnectionLimits;
import dev.emperor.proxy.l4.PortForwarder;
import dev.emperor.proxy.tls.CertificateRefused;
import dev.emperor.proxy.tls.CertificateStore;
import dev.emperor.proxy.tls.TlsFrontend;
import dev.emperor.supervisor.config.ClientLimits;
import dev.emperor.proxy.TenantAvailability;
import dev.emperor.supervisor.lifecycle.VassalState;
import dev.emperor.supervisor.config.ConfigError;
import dev.emperor.supervisor.config.ProxySettings;
import dev.emperor.supervisor.web.AcmeCertificates;
import dev.emperor.supervisor.web.StoredTraffic;
import dev.emperor.supervisor.ksm.HostKsm;
import dev.emperor.supervisor.web.TenantRoutes;
import dev.emperor.supervisor.domains.DomainOwnership;
import dev.emperor.supervisor.identity.Retention;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import dev.emperor.supervisor.config.EmperorConfig;
import dev.emperor.supervisor.config.HostVassalEnvironment;
import dev.emperor.supervisor.config.VassalConfig;
import dev.emperor.supervisor.config.VassalFiles;
import dev.emperor.supervisor.control.ControlServer;
import dev.emperor.supervisor.lifecycle.TenantLauncher;
import dev.emperor.supervisor.lifecycle.Vassal;
import dev.emperor.supervisor.lifecycle.VassalContext;
import dev.emperor.supervisor.logs.LogLimits;
import dev.emperor.supervisor.logs.TenantLogs;
import dev.emperor.supervisor.network.TenantNetwork;
import dev.emperor.supervisor.shell.ShellServer;
import dev.emperor.supervisor.shell.ShellTenants;
import dev.emperor.supervisor.state.StateStore;
import dev.emperor.supervisor.state.VassalRow;
import dev.emperor.supervisor.watch.VassalDirectoryWatcher;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import dev.emperor.supervisor.status.StatusFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon: one per host. Wires configuration, state, the jail, the tenant network and the
 * vassal directory together, keeps one {@link Vassal} per tenant file, and answers the control socket.
 *
 * <p>Start-up order matters for "no tenant runs twice": the state store is read and live
 * payloads are re-adopted BEFORE the vassal directory is scanned, so a tenant that survived
 * an emperor crash is recognised instead of spawned again.
 */
public final class Emperor implements VassalContext, VassalDirectoryWatcher.Listener, ShellTenants, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Emperor.class);

    private final Path configFile;
    private volatile EmperorConfig config;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final StateStore store;
    private final CgroupDriver cgroups;
    private final Jail jail;
    private final PidfdReaper reaper;
    private final TenantLogs logs;
    private final TenantNetwork network;
    private final TenantLauncher launcher;
    private final ScheduledExecutorService timers;
    private final ExecutorService mailboxes = Executors.newVirtualThreadPerTaskExecutor();
    private final Map<String, Vassal> vassals = new ConcurrentHashMap<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private VassalDirectoryWatcher watcher;
    private ControlServer control;
    private final java.util.concurrent.atomic.AtomicBoolean reloadPending = new java.util.concurrent.atomic.AtomicBoolean();
    private final java.util.concurrent.ExecutorService reloads = java.util.concurrent.Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("sighup").daemon().factory());
    private ShellServer shell;
    private MultiThreadIoEventLoopGroup proxyLoops;
    private FrontProxy frontProxy;
    private PortForwarder forwarder;
    /** Replaces the kernel table when the platform's public listeners change (nft runs here, off every lock). */
    private final ExecutorService listenerUpdates = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform()
            .name("public-listeners").daemon().unstarted(r));
    private final java.util.concurrent.atomic.AtomicBoolean listenersUpdatePending = new java.util.concurrent.atomic.AtomicBoolean();
    /** Reading the listeners and installing them is one step, so an older list never replaces a newer one. */
    private final Object listenersLock = new Object();
    /** How often tenants' traffic totals are written to the state database (status and shutdown write them too). */
    private static final Duration TRAFFIC_FLUSH = Duration.ofSeconds(30);
    private TenantRoutes routes;
    private AcmeCertificates acme;
    private StoredTraffic storedTraffic;
    /** The host's ksmd, which ksm-run may start (and then restores at shutdown). */
    private final HostKsm ksm;
    /**
     * Expiry checks and their purges, on a thread of their own: deleting a big home must not
     * delay the grace-period kills and back-off on {@link #timers}.
     */
    private final ScheduledExecutorService retention = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().name("emperor-retention").daemon().unstarted(r));
    private java.util.concurrent.ScheduledFuture<?> expiryCheck;
    /** status-dir: each vassal's `status --json` as NAME.json, rendered by the control socket's own code. */
    private final StatusFiles statusFiles = new StatusFiles(
            name -> find(name).map(new ControlCommands(this)::withWeb), () -> List.copyOf(vassals.keySet()));

    public Emperor(Path configFile, EmperorConfig config) throws IOException {
        this.configFile = configFile;
        this.config = config;
        for (Path dir : List.of(config.stateDir(), config.runDir(), config.logDir(), config.homeDir(),
                config.runDir().resolve("vassals"), config.runDir().resolve("jails"), config.vassalsDir())) {
            Files.createDirectories(dir);
        }
        lockChannel = FileChannel.open(config.stateDir().resolve("emperor.lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        lock = lockChannel.tryLock();
        if (lock == null) {
            lockChannel.close();
            throw new IOException("another emperor is already running with state dir " + config.stateDir());
        }
        store = StateStore.open(config.stateDir());
        cgroups = cgroupDriver(config.cgroup());
        refuseTenantsTheStoreDoesNotKnow(store, cgroups, config);
        Path jailsDir = config.runDir().resolve("jails");
        // The Debian package ships the helper as /usr/lib/emperor/emperor-init (its launcher sets
        // emperor.helper); a checkout extracts the one inside the jail jar into the state dir.
        String installedHelper = System.getProperty("emperor.helper");
        jail = new Jail(installedHelper != null
                ? JailSettings.withHelper(Path.of(installedHelper), jailsDir, cgroups)
                : JailSettings.extractingHelper(config.stateDir().resolve("libexec"), jailsDir, cgroups));
        reaper = new PidfdReaper();
        logs = TenantLogs.open(config.logDir());
        logs.useLimits(() -> new LogLimits(this.config.logMaxSize(), this.config.logKeep(), this.config.logRate()));
        // Before any adoption or spawn: tenants' tun0s are attached to it.
        network = TenantNetwork.start(config.tunSubnet(), config.tunGateway(), config.firewall(), config.hostServices(), store);
        launcher = new TenantLauncher(this::config, store, jail, cgroups, logs, jailsDir, network);
        ksm = HostKsm.open(config.stateDir());
        ksm.use(config.ksmRun());
        timers = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("emperor-timers")
                .daemon().unstarted(r));
        timers.scheduleWithFixedDelay(network::flushCounters, TRAFFIC_FLUSH.toSeconds(), TRAFFIC_FLUSH.toSeconds(),
                TimeUnit.SECONDS);
        // A full state directory: records wait in memory and are written once it has space
        // again; then whatever waited for a durable write (a new tenant's spawn) goes at once.
        store.onWritableAgain(() -> timers.execute(this::stateWritableAgain));
        timers.scheduleWithFixedDelay(this::retryStateWrites, 1, 1, TimeUnit.SECONDS);
        timers.scheduleWithFixedDelay(this::fitConnectionCapToTenants, 1, 1, TimeUnit.SECONDS);
        log.info("emperor starting: vassals {}, state {}, cgroups {}", config.vassalsDir(), config.stateDir(),
                cgroups.version());
    }

    /**
     * Tenants running in our cgroup subtree that the state database has no row for mean the
     * database was emptied or replaced under them: starting would hand their uids, addresses
     * and public ports to other tenants. Refuse, naming them; the operator restores the
     * database or stops them (their processes are in the named cgroups).
     */
    private static void refuseTenantsTheStoreDoesNotKnow(StateStore store, CgroupDriver cgroups, EmperorConfig config)
            throws IOException {
        List<String> unknown = new ArrayList<>();
        for (String tenant : cgroups.tenants()) {
            if (store.vassals().get(tenant).isPresent()) continue;
            boolean running = cgroups.open(tenant).map(c -> !c.pids().isEmpty()).orElse(false);
            if (running) unknown.add(tenant);
        }
        if (!unknown.isEmpty()) {
            store.close();
            throw new IOException("the cgroup subtree '" + config.cgroup() + "' holds running tenants that the state database in "
                    + config.stateDir() + " does not know: " + unknown + ". The database was emptied or replaced while they"
                    + " ran; starting would give their uids, addresses and ports to others. Restore the database, or stop"
                    + " those tenants (kill the processes in their cgroups), then start again.");
        }
    }

    /**
     * {@code cgroup = emperor} names a subtree at the root of each hierarchy; an absolute path
     * such as {@code /system.slice/emperor.service/vassals} (a v2 host with systemd's
     * Delegate=yes) names the subtree's parent too.
     */
    private static CgroupDriver cgroupDriver(String setting) throws IOException {
        if (!setting.startsWith("/")) return Cgroups.detect(setting);
        Path subtree = Path.of(setting);
        Path parent = Path.of("/sys/fs/cgroup").resolve(setting.substring(1)).getParent();
        CgroupDriver driver = Cgroups.detect(subtree.getFileName().toString(), parent);
        if (driver.version().equals("v2")) leaveDelegatedCgroup(parent);
        return driver;
    }

    /**
     * cgroup v2 forbids processes in a cgroup whose controllers are handed to children. When
     * systemd delegated our unit's cgroup (Delegate=yes) and we still sit in it, move the
     * whole emperor into a leaf of its own, "supervisor", next to the tenants' subtree.
     */
    private static void leaveDelegatedCgroup(Path parent) throws IOException {
        String own = Files.readAllLines(Path.of("/proc/self/cgroup")).stream()
                .filter(line -> line.startsWith("0::")).map(line -> line.substring(3)).findFirst().orElse("");
        Path ownDir = Path.of("/sys/fs/cgroup").resolve(own.replaceFirst("^/", ""));
        if (!ownDir.equals(parent)) return;
        Path leaf = Files.createDirectories(parent.resolve("supervisor"));
        Files.writeString(leaf.resolve("cgroup.procs"), "0");
        log.info("moved the emperor into {} (its delegated cgroup now only holds leaves)", leaf);
    }

    /** Starts the front proxy, adopts survivors, starts watching, opens the control socket. */
    public void start() throws IOException {
        startProxy();
        adoptSurvivors();
        control = ControlServer.start(config.controlSocket(), new ControlCommands(this));
        shell = ShellServer.start(shellSocket(config), jail, reaper, this);
        watcher = new VassalDirectoryWatcher(config.vassalsDir(), config.rescan(), this);
        watcher.start();
        forgetVanished();
        launcher.deleteLeftoversSetAside();
        checkExpirySoon(); // at start, then by timer: retention ends even if nobody asks
        store.events().onRecorded(statusFiles::changed);
        statusFiles.use(config.statusDir());
        log.info("emperor running: {} vassals, control socket {}", vassals.size(), config.controlSocket());
    }

    /**
     * The front proxy: HTTP and HTTPS listeners, public port forwards, all on one epoll event
     * loop group (one thread per core). Tenants' sites and ports arrive through the launcher's
     * live settings ({@link TenantRoutes}), before any vassal file is read. A listen address
     * in use is a start-up error naming it.
     */
    private void startProxy() throws IOException {
        ProxySettings settings = config.proxy();
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
        frontProxy = new FrontProxy(options, proxyLoops, challenges, accessLogs(config));
        FrontProxy proxy = frontProxy;
        // Before the first connection: counts carry on from what the last run stored.
        storedTraffic = StoredTraffic.restore(frontProxy.traffic(), store);
        storedTraffic.flushPeriodically(timers);
        frontProxy.start();
        forwarder = new PortForwarder(proxyLoops, frontProxy.clientConnections(), frontProxy.traffic());
        forwarder.onListenersChanged(this::publicListenersChanged);
        PortAllocator allocator = new PortAllocator(settings.portLow(), settings.portHigh(), store.ports());
        // domain-allow as now in force: a SIGHUP's change applies to claims from then on
        DomainOwnership domains = new DomainOwnership(store, () -> this.config.proxy().domainAllow(),
                java.time.Clock.systemUTC());
        allocator.setLimits(settings.portLimits());
        routes = new TenantRoutes(frontProxy, certificates, allocator, forwarder, store, domains,
                config.runDir().resolve("vassals"), network::addressOf);
        routes.setPortListen(settings.portListen());
        TenantRoutes tenantRoutes = routes;
        // every handshake asks the routes' current store: SIGHUP may replace it
        frontProxy.startHttps(settings.httpsListen(), new TlsFrontend(tenantRoutes::serverContext, proxy.overTls()));
        openPublicListenersToTenants();
        acme = new AcmeCertificates(routes, store, challenges, config.stateDir().resolve("acme/account.pem"),
                () -> this.config.proxy(), java.time.Clock.systemUTC());
        routes.onSitesChanged(acme::sitesChanged);
        routes.onTenantForgotten(acme::forget);
        acme.start();
        launcher.setLiveSettingsListener(routes);
        log.info("front proxy: http {}, https {}, public ports {}", frontProxy.httpAddresses(),
                frontProxy.httpsAddresses(), allocator.range());
    }

    /** A public port opened or closed: the kernel table follows, soon, on its own thread (changes in a burst fold into one). */
    private void publicListenersChanged() {
        if (listenersUpdatePending.compareAndSet(false, true)) {
            try {
                listenerUpdates.execute(() -> {
                    listenersUpdatePending.set(false); // a change from now on is picked up by the next run
                    openPublicListenersToTenants();
                });
            } catch (java.util.concurrent.RejectedExecutionException e) {
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
            List<java.net.InetSocketAddress> bound = new ArrayList<>(frontProxy.httpAddresses());
            bound.addAll(frontProxy.httpsAddresses());
            bound.addAll(forwarder.listening());
            List<dev.emperor.tunrouter.PublicListener> listeners = bound.stream()
                    .map(dev.emperor.tunrouter.PublicListener::reachableByTenants).flatMap(Optional::stream)
                    .distinct().sorted(java.util.Comparator.comparingInt(dev.emperor.tunrouter.PublicListener::port)
                            .thenComparingInt(dev.emperor.tunrouter.PublicListener::address))
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
                java.time.Clock.systemUTC(), tenant -> store.certificates().origin(tenant)
                        .filter(origin -> origin == dev.emperor.supervisor.state.CertificateOrigin.ACME)
                        .map(origin -> CertificateStore.Origin.ACME).orElse(CertificateStore.Origin.UPLOAD));
        for (String problem : certificates.loadProblems()) log.error("certificate not loaded: {}", problem);
        if (settings.tlsCert().isPresent()) {
            certificates.usePlatformCertificate(settings.tlsCert().get(), settings.tlsKey().orElseThrow());
        }
        return certificates;
    }

    /** ACME issuance and renewal of tenants' certificates. */
    public AcmeCertificates acme() {
        return acme;
    }

    /** Tenants' web sites, certificates and public ports. */
    /**
     * The proxy's connection total keeps descriptors for every tenant (ConnectionLimits.FDS_PER_TENANT):
     * as tenants come and go it follows, so a full proxy never starves a spawn of descriptors.
     */
    private void fitConnectionCapToTenants() {
        FrontProxy proxy = frontProxy;
        if (proxy == null) return;
        try {
            var clients = proxy.clientConnections();
            int total = config.proxy().clientLimits().connectionLimits(ConnectionLimits.openFileLimit(), vassals.size()).total();
            if (clients.limits().total() != total) {
                log.info("front proxy: at most {} client connections now ({} tenants keep descriptors of their own)",
                        total, vassals.size());
                clients.use(clients.limits().withTotal(total));
            }
        } catch (RuntimeException e) {
            log.error("fitting the proxy's connection total to the tenants: {}", e.toString());
        }
    }

    /** What waited for the state directory goes now: new tenants' spawns, ports and domain claims. */
    private void stateWritableAgain() {
        try {
            TenantRoutes r = routes;
            if (r != null) r.reconcileAll();
        } catch (RuntimeException e) {
            log.error("settling sites and ports after the state directory recovered: {}", e.toString());
        }
        vassals.values().forEach(Vassal::stateWritableAgain);
    }

    private void retryStateWrites() {
        try {
            store.retryDeferred();
        } catch (RuntimeException e) {
            log.error("retrying deferred state writes: {}", e.toString()); // the timer must keep running
        }
    }

    /** The state directory's health: "ok", or what it refuses and what waits (see StateStore.health). */
    public String stateHealth() {
        return store.health();
    }

    /** The vassal directory watcher's health: "ok", or its failures (see VassalDirectoryWatcher.health). */
    public String watcherHealth() {
        VassalDirectoryWatcher w = watcher;
        return w == null ? "not started" : w.health();
    }

    /** status-dir's writer and its health ("off", "ok" or "failing: ..."). */
    public StatusFiles statusFiles() {
        return statusFiles;
    }

    /** Each tenant's requests and bytes through the front proxy and its public ports, since counting began. */
    public dev.emperor.proxy.TenantTraffic.Totals traffic(String tenant) {
        return frontProxy.traffic().totals(tenant);
    }

    /** The host's ksmd as ksm-run handles it. */
    public HostKsm ksm() {
        return ksm;
    }

    /** Host pids of the tenant's processes (its cgroup), empty when it has none. */
    public java.util.Set<Integer> tenantPids(String name) {
        return cgroups.open(name).map(dev.emperor.jail.cgroup.TenantCgroup::pids).orElse(java.util.Set.of());
    }

    public TenantRoutes routes() {
        return routes;
    }

    /** Where `emperor shell` connects: run-dir/shell.sock (world-connectable; see ShellServer). */
    public static Path shellSocket(EmperorConfig config) {
        return config.runDir().resolve("shell.sock");
    }

    /**
     * Tenants recorded as running whose pid 1 is still alive and still theirs come back; every
     * other tenant cgroup is emptied and removed. A kill -9 can land anywhere in a spawn: after
     * the cgroup was made, after pid 1 started, after the payload was exec'd but before its
     * pid was recorded (the row still says pid 0), or in the middle of a cleanup. Only a
     * recorded pid 1 (same start time, the helper's init, in the tenant's cgroup) is proven to
     * be the tenant's, started from the configuration the row names; anything else is killed,
     * and the tenant is spawned afresh from its file.
     */
    private void adoptSurvivors() {
        java.util.Set<String> adopted = new java.util.TreeSet<>();
        for (VassalRow row : store.vassals().all()) {
            if (row.pid() <= 0) continue;
            Optional<TenantProcess> live = launcher.adopt(row.name(), row.pid(), row.pidStartTime());
            if (live.isPresent()) {
                adopted.add(row.name());
                vassal(row.name()).adopted(live.get(), row.startedAt());
                log.info("vassal {}: re-adopted pid {}", row.name(), row.pid());
            } else {
                store.vassals().recordExit(row.name(), "exited while the emperor was down", false);
                launcher.cleanUp(row.name());
            }
        }
        for (String tenant : cgroups.tenants()) {
            if (adopted.contains(tenant)) continue;
            try {
                java.util.Set<Integer> killed = launcher.killLeftovers(tenant);
                if (killed.isEmpty()) continue;
                String what = "killed unrecorded processes " + killed + " in its cgroup (an earlier emperor died before"
                        + " recording them)";
                log.warn("vassal {}: {}", tenant, what);
                if (store.vassals().get(tenant).isPresent()) store.events().record(tenant, dev.emperor.supervisor.state.EventKind.STOP, what);
            } catch (RuntimeException e) {
                // Its next spawn tries again (and says so in its status).
                log.error("vassal {}: cannot clear its cgroup at start: {}", tenant, e.getMessage());
            }
        }
    }

    /**
     * Tenants in the store whose file disappeared while the emperor was down are stopped, and
     * let go of their domains (a holder of names with no vassal row is gone too).
     */
    private void forgetVanished() {
        java.util.Set<String> known = new java.util.TreeSet<>();
        for (VassalRow row : store.vassals().all()) known.add(row.name());
        for (var claim : routes.ownership().claims()) known.add(claim.owner());
        known.removeAll(store.identities().retired().keySet()); // retired already: their names are kept on purpose
        for (String name : known) {
            boolean hasFile = Files.exists(config.vassalsDir().resolve(name + ".ini"))
                    || Files.exists(config.vassalsDir().resolve(name + ".json"));
            if (!hasFile) vassal(name).removed();
        }
    }

    private Vassal vassal(String name) {
        return vassals.computeIfAbsent(name, n -> newVassal(n));
    }

    private Vassal newVassal(String name) {
        return new Vassal(name, this);
    }

    // ---- watcher events ---------------------------------------------------------------------

    @Override
    public void vassalFile(String name, Path file, String contentHash) {
        Vassal vassal = vassal(name);
        try {
            VassalConfig cfg = VassalFiles.load(file, HostVassalEnvironment.of(config));
            vassal.configured(cfg);
            ksm.asks(name, cfg.ksm());
        } catch (ConfigError e) {
            vassal.invalid(e.getMessage());
        }
    }

    @Override
    public void vassalConflict(String name, List<Path> files) {
        vassal(name).invalid("tenant name " + name + " is claimed by several files: " + files
                + " (remove all but one)");
    }

    @Override
    public void vassalRejected(Path file, String reason) {
        // the name is anyone's bytes: a newline in it must not forge a line of the emperor's log
        log.error("ignoring vassal file {}", ConfigError.printable(file + ": " + reason));
    }

    @Override
    public void vassalRemoved(String name) {
        Vassal vassal = vassals.get(name);
        if (vassal != null) vassal.removed();
        ksm.forget(name);
    }

    // ---- VassalContext ----------------------------------------------------------------------

    @Override
    public EmperorConfig config() {
        return config;
    }

    @Override
    public StateStore store() {
        return store;
    }

    @Override
    public TenantLauncher launcher() {
        return launcher;
    }

    @Override
    public PidfdReaper reaper() {
        return reaper;
    }

    @Override
    public TenantLogs logs() {
        return logs;
    }

    @Override
    public ScheduledExecutorService timers() {
        return timers;
    }

    @Override
    public java.util.concurrent.Executor mailboxExecutor() {
        return mailboxes;
    }

    @Override
    public void stateChanged(String name, VassalState state, Instant retryAt) {
        statusFiles.changed(name);
        FrontProxy proxy = frontProxy;
        if (proxy == null) return;
        TenantAvailability availability = proxy.availability();
        switch (state) {
            case RUNNING -> availability.up(name);
            case BACKING_OFF -> availability.down(name, retryAt == null ? 10
                    : (int) Math.max(1, Duration.between(Instant.now(), retryAt).toSeconds() + 1));
            case STARTING, RELOADING -> availability.down(name, 5);
            case STOPPING, STOPPED, FAILED -> availability.down(name, 0);
        }
    }

    @Override
    public void forget(Vassal vassal, Consumer<Vassal> replay) {
        FrontProxy proxy = frontProxy;
        if (proxy != null) proxy.availability().up(vassal.name()); // its site goes with it
        log.info("vassal {}: removed", vassal.name());
        // compute() holds the name's bin: the watcher's next event for it (vassal(name)) waits
        // until the successor exists and has the replayed event first, so no event is reordered.
        vassals.compute(vassal.name(), (name, current) -> {
            if (current != vassal) return current;
            if (replay == null) {
                // a new retirement: the next expiry check is timed for it (at once with retain = 0)
                checkExpirySoon();
                return null;
            }
            Vassal next = newVassal(name);
            replay.accept(next);
            log.info("vassal {}: its file came back while it stopped; starting afresh", name);
            return next;
        });
        statusFiles.changed(vassal.name()); // gone: its NAME.json is deleted (or its successor's written)
    }

    // ---- retirement and purge ----------------------------------------------------------------

    /** Why `emperor purge` did nothing; the message names the tenant and what to do. */
    public static final class PurgeRefused extends Exception {
        private final boolean attempted;

        PurgeRefused(String message, boolean attempted) {
            super(message);
            this.attempted = attempted;
        }

        /** Whether the purge was tried and failed (its data in use), rather than not allowed. */
        public boolean attempted() {
            return attempted;
        }
    }

    /**
     * Ends a retired tenant: its home, disk image, logs, certificate and domains are deleted
     * and its name is free; its uids, address and public ports stay used under a label no
     * tenant can have, so nobody ever gets them again. A later tenant of the name is new.
     *
     * <p>Done under the name's map bin, like {@link #forget}: a file of the name arriving
     * meanwhile waits, then finds nothing of the old tenant. A name with a vassal (a file, or
     * a removed one still stopping) is refused: only a retired tenant can be purged.
     *
     * @return what was released, for the operator
     */
    public String purge(String name, String why) throws PurgeRefused {
        List<Path> aside = new ArrayList<>();
        String[] done = new String[1];
        try {
            vassals.compute(name, (n, current) -> {
                if (current != null) {
                    throw new PurgeInterrupted("tenant " + name + " is live (" + current.state().label()
                            + "); only a retired tenant can be purged: remove its vassal file first", false);
                }
                Optional<Instant> retiredAt = store.identities().retiredAt(name);
                if (retiredAt.isEmpty()) throw new PurgeInterrupted("no retired tenant named '" + name + "'", false);
                Optional<Integer> uid = store.uids().of(name);
                Optional<Integer> address = store.addresses().of(name);
                List<Integer> ports = store.ports().ofTenant(name).stream().map(p -> p.publicPort()).toList();
                try {
                    launcher.setAsideData(name, aside); // first: a crash after it leaves nothing on the name
                    logs.delete(name);
                } catch (RuntimeException | IOException e) {
                    throw new PurgeInterrupted("tenant " + name + " was not purged: " + e.getMessage(), true);
                }
                String tombstone = name + "@purged-" + System.currentTimeMillis(); // '@' is in no tenant name
                // The traffic counters go to the tombstone with the rest (the bill of the customer
                // who left): a later tenant of the name counts from zero. The proxy's in-memory
                // counts go first, so no later flush writes them back under the name; the
                // network's cache after, so no status read in between leaves the old ones there.
                if (storedTraffic != null) storedTraffic.forget(name);
                store.identities().purge(name, tombstone);
                network.forgetTraffic(name);
                List<String> domains = routes.purged(name);
                done[0] = "purged (" + why + "): home, disk image, logs and certificate deleted; domains released "
                        + (domains.isEmpty() ? "(none)" : domains.toString()) + "; uid " + uid.map(String::valueOf).orElse("-")
                        + ", address " + address.map(dev.emperor.tunrouter.Cidr::format).orElse("-") + " and public ports "
                        + ports + " are never given to anyone again; a later tenant named " + name + " is new";
                store.events().record(name, dev.emperor.supervisor.state.EventKind.IDENTITY, done[0]);
                log.info("vassal {}: {}", name, done[0]);
                return null;
            });
        } catch (PurgeInterrupted e) {
            throw new PurgeRefused(e.getMessage(), e.attempted);
        } finally {
            launcher.deleteSetAside(aside); // outside the bin: a big home takes a while
        }
        return done[0];
    }

    /** Carries a refusal out of {@link #purge}'s map function (which takes no checked exception). */
    private static final class PurgeInterrupted extends RuntimeException {
        final boolean attempted;

        PurgeInterrupted(String message, boolean attempted) {
            super(message, null, false, false);
            this.attempted = attempted;
        }
    }

    /** Purges every retired tenant whose retention is over, then schedules the next check. */
    private void expireRetired() {
        Instant now = Instant.now();
        try {
            Duration retain = config.retain();
            for (String name : Retention.expired(store.identities().retired(), retain, now)) {
                try {
                    purge(name, "retention of " + Retention.describe(retain) + " over");
                } catch (PurgeRefused e) {
                    // live: its file came back as the retention ended, and it is the same tenant
                    if (e.attempted()) log.error("vassal {}: retention over, but {} (tried again in a minute)", name,
                            e.getMessage());
                }
            }
        } catch (RuntimeException e) {
            log.error("checking retired tenants for expiry: {}", e.toString());
        } finally {
            scheduleExpiry(now);
        }
    }

    private void checkExpirySoon() {
        try {
            retention.execute(this::expireRetired);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // the emperor is closing: the next one checks at its start
        }
    }

    /** Runs on the retention thread only (so one check at a time). */
    private void scheduleExpiry(Instant checkedAt) {
        if (expiryCheck != null) expiryCheck.cancel(false);
        if (retention.isShutdown()) return;
        Duration wait = Retention.nextCheck(store.identities().retired(), config.retain(), checkedAt);
        expiryCheck = retention.schedule(this::expireRetired, wait.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Retired tenants and when they were retired, oldest first (for status). */
    public Map<String, Instant> retired() {
        return store.identities().retired();
    }

    // ---- ShellTenants -----------------------------------------------------------------------

    @Override
    public Optional<String> tenantOfUid(int uid) {
        return store.vassals().all().stream().filter(row -> row.uid() == uid).map(VassalRow::name).findFirst();
    }

    @Override
    public ShellTenants.Target target(String name) throws ShellTenants.NotEnterable {
        Vassal vassal = vassals.get(name);
        if (vassal == null) throw new ShellTenants.NotEnterable("no tenant named " + name);
        Vassal.Running running = vassal.running().orElseThrow(() -> new ShellTenants.NotEnterable(
                "tenant " + name + " is not running (" + vassal.state().label() + ": " + vassal.reason() + ")"));
        VassalRow row = store.vassals().get(name).orElseThrow(() -> new ShellTenants.NotEnterable("no tenant named " + name));
        return new ShellTenants.Target(running.process(), running.config(), row.uid(), row.gid());
    }

    // ---- operations ---------------------------------------------------------------------------

    public Optional<Vassal> find(String name) {
        return Optional.ofNullable(vassals.get(name));
    }

    public Collection<Vassal> all() {
        List<Vassal> list = new ArrayList<>(vassals.values());
        list.sort((a, b) -> a.name().compareTo(b.name()));
        return list;
    }

    /**
     * SIGHUP. The JDK runs each signal's handler on a thread of its own, so a burst of SIGHUPs
     * ran several reloads at once and could leave the listeners of one file and the
     * certificates of another. Reloads run one at a time on one thread; SIGHUPs that arrive
     * while one waits are folded into it, and each reload reads the file when it starts, so
     * the file as it was at the last SIGHUP is applied last, whole.
     */
    public void requestReload() {
        if (reloadPending.compareAndSet(false, true)) {
            reloads.execute(() -> {
                reloadPending.set(false); // a SIGHUP from now on asks for one more reload
                reloadConfig();
            });
        }
    }

    /** Re-reads emperor.ini; on error keeps the running configuration. Call through {@link #requestReload}. */
    synchronized void reloadConfig() {
        recreateControlSocketIfGone();
        try {
            EmperorConfig fresh = EmperorConfig.load(configFile);
            if (!fresh.vassalsDir().equals(config.vassalsDir()) || !fresh.stateDir().equals(config.stateDir())
                    || !fresh.runDir().equals(config.runDir()) || !fresh.tunSubnet().equals(config.tunSubnet())
                    || !fresh.tunGateway().equals(config.tunGateway())) {
                log.error("{}: vassals, state-dir, run-dir, tun-subnet and tun-gateway cannot change while the emperor runs;"
                        + " keeping the previous configuration (restart the emperor to change them)", configFile);
                return;
            }
            // Checked before anything is applied: a bad platform certificate keeps the old configuration whole.
            CertificateStore certificates;
            try {
                certificates = reloadedCertificates(config.proxy(), fresh.proxy());
            } catch (CertificateRefused | IOException e) {
                log.error("{}: tls-cert: {}; keeping the previous configuration", configFile, e.getMessage());
                return;
            }
            try {
                network.setHostServices(fresh.hostServices());
            } catch (RuntimeException e) {
                // nft replaces the table in one transaction: on failure the old rules still hold
                log.error("keeping the previous configuration: {}", e.getMessage());
                return;
            }
            Optional<String> fdProblem = fresh.proxy().clientLimits().fdLimitProblem(ConnectionLimits.openFileLimit());
            if (fdProblem.isPresent()) {
                log.error("{}: {}; keeping the previous configuration", configFile, fdProblem.get());
                return;
            }
            warnAboutRestartOnlyKeys(config.proxy(), fresh.proxy());
            ProxySettings previousProxy = config.proxy();
            ProxySettings listening = frontProxy != null ? listenOn(config.proxy(), fresh.proxy()) : config.proxy();
            config = new EmperorConfig(fresh.vassalsDir(), fresh.stateDir(), fresh.runDir(), fresh.logDir(),
                    fresh.distroDir(), fresh.homeDir(), fresh.optDir(), fresh.cgroup(), fresh.uidRange(), fresh.stopGrace(),
                    fresh.backoffMax(), fresh.rescan(), fresh.logMaxSize(), fresh.logKeep(), fresh.logRate(), fresh.controlSocket(),
                    fresh.tmpSize(), fresh.diskDefault(), fresh.stopVassalsOnExit(), fresh.tunSubnet(), fresh.tunGateway(), fresh.firewall(),
                    fresh.hostServices(), fresh.cronTimezone(), keepRestartOnly(config.proxy(), fresh.proxy(), listening),
                    fresh.ksmRun(), fresh.retain(), fresh.statusDir());
            statusFiles.use(config.statusDir());
            if (certificates != null) routes.useCertificateStore(certificates);
            if (routes != null && !fresh.proxy().portLimits().equals(previousProxy.portLimits())) {
                routes.setPortLimits(fresh.proxy().portLimits());
            }
            if (routes != null) routes.setPortListen(fresh.proxy().portListen());
            if (frontProxy != null) {
                frontProxy.useAccessLogs(accessLogs(config));
                frontProxy.useLimits(config.proxy().clientLimits().applyTo(ProxyOptions.defaults(),
                        ConnectionLimits.openFileLimit(), vassals.size()));
                logConnectionLimits(config.proxy().clientLimits());
            }
            acme.settingsChanged();
            ksm.use(fresh.ksmRun());
            network.setRules(fresh.firewall());
            log.info("re-read {} ({} outbound and {} inbound firewall rules, host services open to tenants: {})", configFile,
                    fresh.firewall().out().size(), fresh.firewall().in().size(),
                    fresh.hostServices().isEmpty() ? "none" : fresh.hostServices());
        } catch (ConfigError e) {
            log.error("keeping the previous configuration: {}", e.getMessage());
        }
    }

    /** A control socket someone deleted cannot be reached by path: SIGHUP listens on it again. */
    private void recreateControlSocketIfGone() {
        ControlServer running = control;
        if (running == null || Files.exists(running.socketPath(), LinkOption.NOFOLLOW_LINKS)) return;
        try {
            running.close();
            control = ControlServer.start(running.socketPath(), new ControlCommands(this));
            log.warn("control socket {} had been deleted: listening on it again", running.socketPath());
        } catch (IOException e) {
            log.error("control socket {} was deleted and cannot be made again: {}", running.socketPath(), e.getMessage());
        }
    }

    /**
     * SIGHUP's certificates: a new store when cert-dir or platform-domain changed or tls-cert
     * was dropped (a store cannot forget its platform certificate); otherwise the platform
     * certificate is read again into the running store, so a wildcard renewed in place is
     * served from the next handshake on. Null when there is nothing to swap.
     */
    private CertificateStore reloadedCertificates(ProxySettings old, ProxySettings fresh)
            throws IOException, CertificateRefused {
        boolean newStore = !old.certDir().equals(fresh.certDir()) || !old.platformDomain().equals(fresh.platformDomain())
                || (old.tlsCert().isPresent() && fresh.tlsCert().isEmpty());
        if (newStore) {
            log.info("SIGHUP: certificates from {} (platform certificate {})", fresh.certDir(),
                    fresh.tlsCert().map(Path::toString).orElse("none"));
            return certificateStore(fresh);
        }
        if (fresh.tlsCert().isPresent()) {
            routes.certificateStore().usePlatformCertificate(fresh.tlsCert().get(), fresh.tlsKey().orElseThrow());
        }
        return null;
    }

    /** The tenants' access logs: where, and rotated like their own logs (log-max-size, log-keep). */
    private static AccessLog.Settings accessLogs(EmperorConfig cfg) {
        return new AccessLog.Settings(cfg.proxy().accessLogDir(), cfg.logMaxSize(), cfg.logKeep());
    }

    /**
     * SIGHUP's listeners: the proxy binds the new addresses, then stops listening on the old
     * ones. An address that cannot be bound changes none of them. Returns the settings whose
     * listen keys say what the proxy listens on now (the running ones after a failure, so the
     * next SIGHUP tries again).
     */
    private ProxySettings listenOn(ProxySettings running, ProxySettings wanted) {
        if (running.httpListen().equals(wanted.httpListen()) && running.httpsListen().equals(wanted.httpsListen())) {
            return running;
        }
        try {
            frontProxy.listenOn(wanted.httpListen(), wanted.httpsListen());
            log.info("front proxy: now listening on http {}, https {}", frontProxy.httpAddresses(), frontProxy.httpsAddresses());
            openPublicListenersToTenants();
            return wanted;
        } catch (IOException e) {
            log.error("{}: http-listen/https-listen: {}; still listening on http {}, https {}", configFile, e.getMessage(),
                    frontProxy.httpAddresses(), frontProxy.httpsAddresses());
            return running;
        }
    }

    /** The public port range is fixed at start: say so, naming the key. */
    private void warnAboutRestartOnlyKeys(ProxySettings old, ProxySettings fresh) {
        Map<String, Boolean> changed = new java.util.LinkedHashMap<>();
        changed.put("port-range", old.portLow() != fresh.portLow() || old.portHigh() != fresh.portHigh());
        changed.forEach((key, differs) -> {
            if (differs) {
                log.warn("{}: {} changed: it takes effect when the emperor is restarted; still using the old value",
                        configFile, key);
            }
        });
    }

    /**
     * The fresh proxy settings, except the port range, which only a restart applies (it stays
     * as running), and the listeners, which are those of {@code listening}.
     */
    private static ProxySettings keepRestartOnly(ProxySettings old, ProxySettings fresh, ProxySettings listening) {
        return new ProxySettings(listening.httpListen(), listening.httpsListen(), fresh.platformDomain(), fresh.tlsCert(),
                fresh.tlsKey(), fresh.certDir(), old.portLow(), old.portHigh(), fresh.accessLogDir(), fresh.acme(),
                fresh.clientLimits(), fresh.portLimits(), fresh.domainAllow(), fresh.portListen());
    }

    /** Stops every tenant (used when the emperor is told to stop them, e.g. on-exit = stop). */
    public void stopAll() throws InterruptedException {
        for (Vassal vassal : vassals.values()) vassal.shutdown();
        // The grace period plus 5 s, extended by 5 s whenever another tenant finished: on a
        // loaded host a hundred tenants' clean-ups take longer than that in all, and closing
        // the state database under them left cgroups, mounted disks (and pid 1s) behind.
        long deadline = System.nanoTime() + config.stopGrace().toNanos() + TimeUnit.SECONDS.toNanos(5);
        int left = vassals.size();
        while (!vassals.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
            if (vassals.size() < left) {
                left = vassals.size();
                deadline = Math.max(deadline, System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
            }
        }
        if (!vassals.isEmpty()) log.error("emperor exiting with tenants still stopping: {}", vassals.keySet());
        network.removeKernelRules();
    }

    public void awaitShutdown() throws InterruptedException {
        stopped.await();
    }

    public void shutdown() {
        stopped.countDown();
    }

    @Override
    public void close() throws IOException {
        if (watcher != null) watcher.close();
        statusFiles.close();
        if (shell != null) shell.close();
        reloads.shutdownNow();
        if (control != null) control.close();
        timers.shutdownNow();
        listenerUpdates.shutdownNow();
        retention.shutdownNow(); // the next check is cancelled; a purge under way finishes first
        try {
            retention.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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
        logs.close();
        reaper.close();
        network.close();
        ksm.restore();
        store.close();
        lock.release();
        lockChannel.close();
        log.info("emperor stopped");
    }
}
