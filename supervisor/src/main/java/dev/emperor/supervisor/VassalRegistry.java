package dev.emperor.supervisor;

import dev.emperor.jail.PidfdReaper;
import dev.emperor.jail.TenantProcess;
import dev.emperor.jail.cgroup.CgroupDriver;
import dev.emperor.proxy.FrontProxy;
import dev.emperor.proxy.TenantAvailability;
import dev.emperor.supervisor.config.ConfigError;
import dev.emperor.supervisor.config.EmperorConfig;
import dev.emperor.supervisor.config.HostVassalEnvironment;
import dev.emperor.supervisor.config.VassalConfig;
import dev.emperor.supervisor.config.VassalFiles;
import dev.emperor.supervisor.ksm.HostKsm;
import dev.emperor.supervisor.lifecycle.TenantLauncher;
import dev.emperor.supervisor.lifecycle.Vassal;
import dev.emperor.supervisor.lifecycle.HostVassalContext;
import dev.emperor.supervisor.lifecycle.VassalHost;
import dev.emperor.supervisor.lifecycle.VassalState;
import dev.emperor.supervisor.logs.TenantLogs;
import dev.emperor.supervisor.shell.ShellTenants;
import dev.emperor.supervisor.state.EventKind;
import dev.emperor.supervisor.state.StateStore;
import dev.emperor.supervisor.state.VassalRow;
import dev.emperor.supervisor.status.StatusFiles;
import dev.emperor.supervisor.watch.VassalDirectoryWatcher;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The vassals: one {@link Vassal} per vassal file, by name. Turns the directory watcher's
 * events into vassal events, takes back tenants that survived the last emperor, answers the
 * shell entry's look-ups, and is the context every vassal runs in.
 *
 * <p>Each name's map bin is its lock: a vassal being forgotten, a purge of the name and the
 * watcher's next event for it happen one after the other, never interleaved.
 */
final class VassalRegistry implements VassalHost, VassalDirectoryWatcher.Listener, ShellTenants {
    /** Emperor's logger: its lines read as they did before this class was split out of it. */
    private static final Logger log = LoggerFactory.getLogger(Emperor.class);

    private final Supplier<EmperorConfig> config;
    private final StateStore store;
    private final CgroupDriver cgroups;
    private final TenantLauncher launcher;
    private final PidfdReaper reaper;
    private final TenantLogs logs;
    private final ScheduledExecutorService timers;
    private final HostKsm ksm;
    private final StatusFiles statusFiles;
    /** Times the next expiry check when a tenant is newly retired. */
    private final Runnable retirementStarted;
    private final ExecutorService mailboxes = Executors.newVirtualThreadPerTaskExecutor();
    private final Map<String, Vassal> vassals = new ConcurrentHashMap<>();
    /** Null until the front proxy started: tenants' availability is told to it from then on. */
    private volatile FrontProxy frontProxy;

    VassalRegistry(Supplier<EmperorConfig> config, StateStore store, CgroupDriver cgroups, TenantLauncher launcher,
            PidfdReaper reaper, TenantLogs logs, ScheduledExecutorService timers, HostKsm ksm, StatusFiles statusFiles,
            Runnable retirementStarted) {
        this.config = config;
        this.store = store;
        this.cgroups = cgroups;
        this.launcher = launcher;
        this.reaper = reaper;
        this.logs = logs;
        this.timers = timers;
        this.ksm = ksm;
        this.statusFiles = statusFiles;
        this.retirementStarted = retirementStarted;
    }

    /** The front proxy is up: tenants' states say whether it answers for them (see {@link #stateChanged}). */
    void frontProxyStarted(FrontProxy proxy) {
        this.frontProxy = proxy;
    }

    public Optional<Vassal> find(String name) {
        return Optional.ofNullable(vassals.get(name));
    }

    /** Every vassal, by name. */
    public Collection<Vassal> all() {
        List<Vassal> list = new ArrayList<>(vassals.values());
        list.sort((a, b) -> a.name().compareTo(b.name()));
        return list;
    }

    List<String> names() {
        return List.copyOf(vassals.keySet());
    }

    int size() {
        return vassals.size();
    }

    /**
     * Runs {@code work} holding the name's map bin, given the name's vassal (null when it has
     * none); the map is left as it was. Like {@link #forget}: a file of the name arriving
     * meanwhile waits until {@code work} is done.
     */
    void holdingName(String name, Consumer<Vassal> work) {
        vassals.compute(name, (n, current) -> {
            work.accept(current);
            return current;
        });
    }

    /** The state directory takes writes again: whatever a vassal deferred goes now. */
    void stateWritableAgain() {
        vassals.values().forEach(Vassal::stateWritableAgain);
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
    void adoptSurvivors() {
        Set<String> adopted = new TreeSet<>();
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
                Set<Integer> killed = launcher.killLeftovers(tenant);
                if (killed.isEmpty()) continue;
                String what = "killed unrecorded processes " + killed + " in its cgroup (an earlier emperor died before"
                        + " recording them)";
                log.warn("vassal {}: {}", tenant, what);
                if (store.vassals().get(tenant).isPresent()) store.events().record(tenant, EventKind.STOP, what);
            } catch (RuntimeException e) {
                // Its next spawn tries again (and says so in its status).
                log.error("vassal {}: cannot clear its cgroup at start: {}", tenant, e.getMessage());
            }
        }
    }

    /**
     * Tenants in the store whose file disappeared while the emperor was down are stopped, and
     * let go of their domains (a holder of names with no vassal row is gone too).
     *
     * @param domainHolders the tenants holding domain names
     */
    void forgetVanished(Collection<String> domainHolders) {
        Set<String> known = new TreeSet<>();
        for (VassalRow row : store.vassals().all()) known.add(row.name());
        known.addAll(domainHolders);
        known.removeAll(store.identities().retired().keySet()); // retired already: their names are kept on purpose
        Path dir = config.get().vassalsDir();
        for (String name : known) {
            boolean hasFile = Files.exists(dir.resolve(name + ".ini")) || Files.exists(dir.resolve(name + ".json"));
            if (!hasFile) vassal(name).removed();
        }
    }

    /**
     * Tells every vassal to stop and waits for them: the grace period plus 5 s, extended by 5 s
     * whenever another tenant finished. On a loaded host a hundred tenants' clean-ups take
     * longer than that in all, and closing the state database under them left cgroups, mounted
     * disks (and pid 1s) behind.
     */
    void stopAll() throws InterruptedException {
        for (Vassal vassal : vassals.values()) vassal.shutdown();
        long deadline = System.nanoTime() + config.get().stopGrace().toNanos() + TimeUnit.SECONDS.toNanos(5);
        int left = vassals.size();
        while (!vassals.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
            if (vassals.size() < left) {
                left = vassals.size();
                deadline = Math.max(deadline, System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
            }
        }
        if (!vassals.isEmpty()) log.error("emperor exiting with tenants still stopping: {}", vassals.keySet());
    }

    private Vassal vassal(String name) {
        return vassals.computeIfAbsent(name, n -> newVassal(n));
    }

    // ---- watcher events ---------------------------------------------------------------------

    @Override
    public void vassalFile(String name, Path file, String contentHash) {
        Vassal vassal = vassal(name);
        try {
            VassalConfig cfg = VassalFiles.load(file, HostVassalEnvironment.of(config.get()));
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

    private void checkExpirySoon() {
        retirementStarted.run();
    }

    // ---- VassalHost -------------------------------------------------------------------------

    @Override
    public EmperorConfig config() {
        return config.get();
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

    private Vassal newVassal(String name) {
        return new Vassal(name, new HostVassalContext(this));
    }
}
