package dev.emperor.supervisor;

import dev.emperor.jail.Jail;
import dev.emperor.jail.JailSettings;
import dev.emperor.jail.PidfdReaper;
import dev.emperor.jail.cgroup.CgroupDriver;
import dev.emperor.jail.cgroup.TenantCgroup;
import dev.emperor.proxy.TenantTraffic;
import dev.emperor.supervisor.config.EmperorConfig;
import dev.emperor.supervisor.ksm.HostKsm;
import dev.emperor.supervisor.lifecycle.TenantLauncher;
import dev.emperor.supervisor.lifecycle.Vassal;
import dev.emperor.supervisor.logs.LogLimits;
import dev.emperor.supervisor.logs.TenantLogs;
import dev.emperor.supervisor.network.TenantNetwork;
import dev.emperor.supervisor.shell.ShellServer;
import dev.emperor.supervisor.state.DomainClaim;
import dev.emperor.supervisor.state.StateStore;
import dev.emperor.supervisor.status.StatusFiles;
import dev.emperor.supervisor.watch.VassalDirectoryWatcher;
import dev.emperor.supervisor.web.AcmeCertificates;
import dev.emperor.supervisor.web.TenantRoutes;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon: one per host. Composes the parts (state, jail, tenant network, the
 * {@link VassalRegistry}, the {@link FrontProxyWiring}, {@link TenantRetention},
 * {@link ConfigReload}, the control and shell sockets), starts them in order, and closes them
 * in the reverse order. What the control socket asks for, it hands on to the part that knows.
 *
 * <p>Start-up order matters for "no tenant runs twice": the state store is read and live
 * payloads are re-adopted BEFORE the vassal directory is scanned, so a tenant that survived
 * an emperor crash is recognised instead of spawned again.
 */
public final class Emperor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Emperor.class);
    /** How often tenants' traffic totals are written to the state database (status and shutdown write them too). */
    private static final Duration TRAFFIC_FLUSH = Duration.ofSeconds(30);

    /** The running emperor.ini; only {@link ConfigReload} replaces it. */
    private final AtomicReference<EmperorConfig> config;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final StateStore store;
    private final CgroupDriver cgroups;
    private final Jail jail;
    private final PidfdReaper reaper;
    private final TenantLogs logs;
    private final TenantNetwork network;
    private final TenantLauncher launcher;
    /** The host's ksmd, which ksm-run may start (and then restores at shutdown). */
    private final HostKsm ksm;
    private final ScheduledExecutorService timers;
    /** status-dir: each vassal's `status --json` as NAME.json, rendered by the control socket's own code. */
    private final StatusFiles statusFiles;
    private final VassalRegistry vassals;
    private final FrontProxyWiring proxy;
    private final TenantRetention retention;
    private final ConfigReload reload;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile ControlSocket control;
    private ShellServer shell;
    private volatile VassalDirectoryWatcher watcher;

    public Emperor(Path configFile, EmperorConfig config) throws IOException {
        this.config = new AtomicReference<>(config);
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
        cgroups = CgroupSubtree.open(config.cgroup());
        CgroupSubtree.refuseTenantsTheStoreDoesNotKnow(store, cgroups, config);
        Path jailsDir = config.runDir().resolve("jails");
        // The Debian package ships the helper as /usr/lib/emperor/emperor-init (its launcher sets
        // emperor.helper); a checkout extracts the one inside the jail jar into the state dir.
        String installedHelper = System.getProperty("emperor.helper");
        jail = new Jail(installedHelper != null
                ? JailSettings.withHelper(Path.of(installedHelper), jailsDir, cgroups)
                : JailSettings.extractingHelper(config.stateDir().resolve("libexec"), jailsDir, cgroups));
        reaper = new PidfdReaper();
        logs = TenantLogs.open(config.logDir());
        logs.useLimits(() -> new LogLimits(config().logMaxSize(), config().logKeep(), config().logRate()));
        // Before any adoption or spawn: tenants' tun0s are attached to it.
        network = TenantNetwork.start(config.tunSubnet(), config.tunGateway(), config.firewall(), config.hostServices(), store);
        launcher = new TenantLauncher(this::config, store, jail, cgroups, logs, jailsDir, network);
        ksm = HostKsm.open(config.stateDir());
        ksm.use(config.ksmRun());
        timers = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("emperor-timers")
                .daemon().unstarted(r));
        statusFiles = new StatusFiles(name -> find(name).map(new ControlCommands(this)::withWeb), this::vassalNames);
        vassals = new VassalRegistry(this::config, store, cgroups, launcher, reaper, logs, timers, ksm, statusFiles,
                this::checkExpirySoon);
        proxy = new FrontProxyWiring(configFile, this::config, store, network, launcher, timers, vassals::size);
        retention = new TenantRetention(this::config, store, vassals, launcher, logs, network, proxy);
        reload = new ConfigReload(configFile, this.config, network, proxy, statusFiles, ksm, this::recreateControlSocketIfGone);
        timers.scheduleWithFixedDelay(network::flushCounters, TRAFFIC_FLUSH.toSeconds(), TRAFFIC_FLUSH.toSeconds(),
                TimeUnit.SECONDS);
        // A full state directory: records wait in memory and are written once it has space
        // again; then whatever waited for a durable write (a new tenant's spawn) goes at once.
        store.onWritableAgain(() -> timers.execute(this::stateWritableAgain));
        timers.scheduleWithFixedDelay(this::retryStateWrites, 1, 1, TimeUnit.SECONDS);
        timers.scheduleWithFixedDelay(proxy::fitConnectionCapToTenants, 1, 1, TimeUnit.SECONDS);
        log.info("emperor starting: vassals {}, state {}, cgroups {}", config.vassalsDir(), config.stateDir(),
                cgroups.version());
    }

    /** Starts the front proxy, adopts survivors, starts watching, opens the control socket. */
    public void start() throws IOException {
        EmperorConfig cfg = config();
        proxy.start();
        vassals.frontProxyStarted(proxy.proxy());
        vassals.adoptSurvivors();
        control = ControlSocket.open(cfg.controlSocket(), new ControlCommands(this));
        shell = ShellServer.start(shellSocket(cfg), jail, reaper, vassals);
        watcher = new VassalDirectoryWatcher(cfg.vassalsDir(), cfg.rescan(), vassals);
        watcher.start();
        vassals.forgetVanished(routes().ownership().claims().stream().map(DomainClaim::owner).toList());
        launcher.deleteLeftoversSetAside();
        retention.checkSoon(); // at start, then by timer: retention ends even if nobody asks
        store.events().onRecorded(statusFiles::changed);
        statusFiles.use(cfg.statusDir());
        log.info("emperor running: {} vassals, control socket {}", vassals.size(), cfg.controlSocket());
    }

    /** Where `emperor shell` connects: run-dir/shell.sock (world-connectable; see ShellServer). */
    public static Path shellSocket(EmperorConfig config) {
        return config.runDir().resolve("shell.sock");
    }

    /** SIGHUP: re-reads emperor.ini (see {@link ConfigReload}). */
    public void requestReload() {
        reload.request();
    }

    // The parts refer to each other through these (each is made before it is called).

    private List<String> vassalNames() {
        return vassals.names();
    }

    /** A tenant was newly retired: the next expiry check is timed for it. */
    private void checkExpirySoon() {
        retention.checkSoon();
    }

    private void recreateControlSocketIfGone() {
        ControlSocket socket = control;
        if (socket != null) socket.recreateIfGone();
    }

    /** What waited for the state directory goes now: new tenants' spawns, ports and domain claims. */
    private void stateWritableAgain() {
        try {
            TenantRoutes r = proxy.routes();
            if (r != null) r.reconcileAll();
        } catch (RuntimeException e) {
            log.error("settling sites and ports after the state directory recovered: {}", e.toString());
        }
        vassals.stateWritableAgain();
    }

    private void retryStateWrites() {
        try {
            store.retryDeferred();
        } catch (RuntimeException e) {
            log.error("retrying deferred state writes: {}", e.toString()); // the timer must keep running
        }
    }

    // ---- what the control socket asks --------------------------------------------------------

    /** The running emperor.ini (replaced on SIGHUP). */
    public EmperorConfig config() {
        return config.get();
    }

    public StateStore store() {
        return store;
    }

    public TenantLauncher launcher() {
        return launcher;
    }

    public Optional<Vassal> find(String name) {
        return vassals.find(name);
    }

    public Collection<Vassal> all() {
        return vassals.all();
    }

    /** Tenants' web sites, certificates and public ports. */
    public TenantRoutes routes() {
        return proxy.routes();
    }

    /** ACME issuance and renewal of tenants' certificates. */
    public AcmeCertificates acme() {
        return proxy.acme();
    }

    /** Each tenant's requests and bytes through the front proxy and its public ports, since counting began. */
    public TenantTraffic.Totals traffic(String tenant) {
        return proxy.traffic(tenant);
    }

    /** Ends a retired tenant (see {@link TenantRetention#purge}); returns what was released. */
    public String purge(String name, String why) throws TenantRetention.PurgeRefused {
        return retention.purge(name, why);
    }

    /** Retired tenants and when they were retired, oldest first (for status). */
    public Map<String, Instant> retired() {
        return retention.retired();
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

    /** The host's ksmd as ksm-run handles it. */
    public HostKsm ksm() {
        return ksm;
    }

    /** Host pids of the tenant's processes (its cgroup), empty when it has none. */
    public Set<Integer> tenantPids(String name) {
        return cgroups.open(name).map(TenantCgroup::pids).orElse(Set.of());
    }

    // ---- shutdown -----------------------------------------------------------------------------

    /** Stops every tenant (used when the emperor is told to stop them, e.g. on-exit = stop). */
    public void stopAll() throws InterruptedException {
        vassals.stopAll();
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
        reload.close();
        if (control != null) control.close();
        timers.shutdownNow();
        proxy.stopFollowingListeners();
        retention.close(); // the next check is cancelled; a purge under way finishes first
        proxy.close();
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
