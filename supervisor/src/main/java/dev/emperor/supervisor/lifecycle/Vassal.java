package dev.emperor.supervisor.lifecycle;

import dev.emperor.jail.ExitStatus;
import dev.emperor.jail.JailException;
import dev.emperor.jail.TenantProcess;
import dev.emperor.jail.cgroup.CgroupStats;
import dev.emperor.supervisor.config.ConfigError;
import dev.emperor.supervisor.config.VassalConfig;
import dev.emperor.supervisor.identity.Retention;
import dev.emperor.supervisor.network.TenantNetwork;
import dev.emperor.supervisor.state.Desired;
import dev.emperor.supervisor.state.EventKind;
import dev.emperor.supervisor.state.StateNotWritable;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One tenant's life: a state machine driven by events (file changed, payload exited,
 * operator command, timer), handled one at a time in this tenant's own {@link Mailbox}.
 * Everything it does is written to the state store and the emperor's log with the reason.
 */
public final class Vassal {
    private static final Logger log = LoggerFactory.getLogger(Vassal.class);

    /** What to do once the current payload has exited. */
    private enum Then { RESPAWN_BY_POLICY, SPAWN_NOW, STAY_STOPPED, REMOVE, FORGET }

    private final String name;
    private final VassalContext ctx;
    private final Mailbox mailbox;
    private final Backoff backoff;

    // Written only from the mailbox; read (for status) from anywhere.
    private volatile VassalState state = VassalState.STOPPED;
    private volatile String reason = "not started yet";
    private volatile VassalConfig config;
    private volatile String configError;
    /** Why the last spawn failed, until one succeeds. */
    private volatile String spawnError;
    private volatile TenantProcess process;
    private volatile Instant startedAt;
    private volatile String lastExit;
    private volatile int restarts;
    private volatile boolean wantRunning = true;
    private volatile Instant retryAt;
    /** The running payload's cron jobs and daemons; null while nothing runs. */
    private volatile TenantServices services;
    private Then then = Then.RESPAWN_BY_POLICY;
    private ScheduledFuture<?> timer;
    private long timerGeneration;
    private boolean removed;
    /** OOM kills in the cgroups of payloads that have exited (each payload gets a fresh cgroup). */
    private volatile long oomKillsOfEarlierPayloads;
    /**
     * The last file event that arrived while this (removed) vassal was still stopping: a file
     * written again under the same name ({@code rm a.ini; cp b a.ini}, an editor's rename and
     * rewrite). It is handed to the vassal that takes this one's place, so the directory's final
     * content wins even though the watcher reports each version only once.
     */
    private Consumer<Vassal> replay;
    /** Whether this vassal's first file event has said which tenant the name is (see {@link #arrive}). */
    private boolean arrived;
    /** The last spawn failed because the state directory refused to record the tenant's identity. */
    private boolean waitingForStateDirectory;
    /** How often a spawn waiting for the state directory is tried again. */
    private static final Duration STATE_RETRY = Duration.ofSeconds(1);

    public Vassal(String name, VassalContext ctx) {
        this.name = name;
        this.ctx = ctx;
        this.mailbox = new Mailbox(ctx.mailboxExecutor(), name, this::onEventFailed);
        this.backoff = new Backoff(ctx.config().backoffMax(), Duration.ofSeconds(10));
        ctx.store().vassals().get(name).ifPresent(row -> {
            wantRunning = row.desired() != Desired.STOP;
            restarts = row.restarts();
            lastExit = row.lastExit();
        });
        ctx.stateChanged(name, state, null); // nothing of it runs until it is spawned or adopted
    }

    public String name() {
        return name;
    }

    // ---- events (any thread) -------------------------------------------------------------

    /** The vassal file now holds this (valid) configuration. */
    public void configured(VassalConfig newConfig) {
        mailbox.post(() -> onConfigured(newConfig));
    }

    /** The vassal file is invalid. */
    public void invalid(String error) {
        mailbox.post(() -> onInvalid(error));
    }

    /** The vassal file was deleted: stop and forget the tenant (its uid stays reserved). */
    public void removed() {
        mailbox.post(this::onRemoved);
    }

    /** A live payload found after an emperor restart. */
    public void adopted(TenantProcess live, Instant since) {
        mailbox.post(() -> onAdopted(live, since));
    }

    /** The emperor is exiting and takes its tenants down (on-exit = stop); they return on its next start. */
    public void shutdown() {
        mailbox.post(this::onShutdown);
    }

    public void start() {
        mailbox.post(this::onStart);
    }

    public void stop() {
        mailbox.post(this::onStop);
    }

    public void reload() {
        mailbox.post(this::onReload);
    }

    /**
     * The state directory takes writes again after refusing them: a spawn that could not record
     * the tenant's uid or address is tried now rather than at the end of its retry delay.
     */
    public void stateWritableAgain() {
        mailbox.post(this::onStateWritableAgain);
    }

    /** Completes once every event posted before this call has been handled. */
    public java.util.concurrent.CompletableFuture<Void> afterQueuedEvents() {
        var done = new java.util.concurrent.CompletableFuture<Void>();
        mailbox.post(() -> done.complete(null));
        return done;
    }

    // ---- handlers (mailbox thread) --------------------------------------------------------

    private void onConfigured(VassalConfig newConfig) {
        if (removed) {
            replay = next -> next.configured(newConfig);
            return;
        }
        arrive();
        VassalConfig old = config;
        config = newConfig;
        configError = null;
        ctx.store().vassals().recordError(name, null);
        // Settings a running tenant takes without a restart (its firewall rules) apply at once.
        applyLiveSettings(newConfig);
        if (process != null) {
            var row = ctx.store().vassals().get(name);
            if (old == null && newConfig.contentHash().equals(row.map(r -> r.configHash()).orElse(null))) {
                log.info("vassal {}: adopted payload matches its file", name);
                startServices(newConfig, row.get().uid(), row.get().gid());
                return;
            }
            if (old != null && old.contentHash().equals(newConfig.contentHash())) return;
            if (old != null && services != null && !old.needsRestartFor(newConfig)) {
                // Only firewall, web site, cron or daemon lines changed: the payload keeps running.
                event("config", "file changed (only firewall, net-rate, web site, cron or daemon lines): applied without a restart");
                ctx.store().vassals().recordConfigHash(name, newConfig.contentHash());
                services.apply(newConfig);
                return;
            }
            event("config", "file changed: reloading");
            beginStop(VassalState.RELOADING, "file changed", Then.SPAWN_NOW);
        } else if (state == VassalState.STARTING || state == VassalState.STOPPING || state == VassalState.RELOADING) {
            then = Then.SPAWN_NOW;
        } else if (wantRunning) {
            spawn(old == null ? "file appeared" : "file changed");
        } else {
            transition(VassalState.STOPPED, "stopped by operator (file is valid)");
        }
    }

    private void onInvalid(String error) {
        if (removed) {
            replay = next -> next.invalid(error);
            return;
        }
        arrive();
        configError = error;
        ctx.store().vassals().recordError(name, error);
        log.error("vassal {}: {}", name, error);
        note("invalid vassal file: " + error);
        if (process != null) {
            // Keep the tenant's site up on its last good configuration; the error is shown.
            reason = "running the last valid configuration; file is invalid: " + error;
        } else {
            cancelTimer();
            config = null;
            transition(VassalState.FAILED, error);
        }
    }

    private void onRemoved() {
        if (removed) { // removed again while stopping: whatever came back meanwhile is gone too
            replay = null;
            return;
        }
        removed = true;
        wantRunning = false;
        // While a payload is stopping its timer is the grace period's SIGKILL: keep it, or a
        // payload that ignores SIGTERM would never be stopped (beginStop replaces it otherwise).
        if (process == null) cancelTimer();
        event("stop", "vassal file removed");
        if (process != null) {
            beginStop(VassalState.STOPPING, "vassal file removed", Then.REMOVE);
        } else {
            finishRemoval();
        }
    }

    private void onShutdown() {
        removed = true;
        replay = null; // the emperor is going: the next one reads the directory afresh
        if (process == null) cancelTimer(); // a stop under way keeps its grace timer (see onRemoved)
        if (process != null) {
            beginStop(VassalState.STOPPING, "emperor shutting down", Then.FORGET);
        } else {
            killLeftoversOrSayWhy();
            ctx.launcher().releaseDisk(name);
            ctx.forget(this, null);
        }
    }

    private void onAdopted(TenantProcess live, Instant since) {
        process = live;
        startedAt = since;
        transition(VassalState.RUNNING, "adopted after emperor restart (pid " + live.pid() + ")");
        event("adopt", "pid " + live.pid());
        ctx.reaper().watch(live, status -> mailbox.post(() -> onExited(live, status)));
    }

    private void onStateWritableAgain() {
        if (removed) return;
        VassalConfig cfg = config;
        if (state == VassalState.BACKING_OFF && waitingForStateDirectory && process == null && wantRunning && cfg != null) {
            cancelTimer();
            spawn("the state directory takes writes again");
        }
    }

    /**
     * Firewall, net-rate, site and ports of this file. A new public port must be recorded before
     * it is opened; while the state directory refuses that, the rest of the change still goes on
     * and the emperor settles every site and port again once it takes writes
     * (TenantRoutes.reconcileAll).
     */
    private void applyLiveSettings(VassalConfig cfg) {
        try {
            ctx.launcher().applyLiveSettings(name, cfg);
        } catch (StateNotWritable e) {
            log.error("vassal {}: site and ports wait for the state directory: {}", name, e.getMessage());
            note("site and ports wait for the state directory: " + e.getMessage());
        }
    }

    private void onStart() {
        wantRunning = true;
        ctx.store().vassals().setDesired(name, Desired.RUN);
        backoff.reset();
        if (process != null || removed) return;
        cancelTimer();
        if (config == null) {
            transition(VassalState.FAILED, configError != null ? configError : "no valid vassal file");
            return;
        }
        event("start", "started by operator");
        spawn("started by operator");
    }

    private void onStop() {
        wantRunning = false;
        ctx.store().vassals().setDesired(name, Desired.STOP);
        if (process == null) cancelTimer(); // a stop under way keeps its grace timer (see onRemoved)
        if (process != null) {
            event("stop", "stopped by operator");
            beginStop(VassalState.STOPPING, "stopped by operator", Then.STAY_STOPPED);
        } else {
            killLeftoversOrSayWhy(); // whatever an earlier emperor left in its cgroup stops too
            if (state != VassalState.FAILED) transition(VassalState.STOPPED, "stopped by operator");
        }
    }

    private void onReload() {
        if (removed) return;
        if (process != null) {
            event("reload", "reload requested");
            beginStop(VassalState.RELOADING, "reload requested", Then.SPAWN_NOW);
        } else if (config != null && wantRunning) {
            cancelTimer();
            spawn("reload requested");
        }
    }

    private void onExited(TenantProcess exited, ExitStatus status) {
        if (exited != process) return; // a stale notification for an earlier payload
        // Read before the cgroup is cleaned up: once it is gone, so is its OOM count.
        long ooms = ctx.launcher().stats(name).map(CgroupStats::oomKills).orElse(0L);
        oomKillsOfEarlierPayloads += ooms;
        process = null;
        exited.close();
        cancelTimer();
        Duration ranFor = startedAt == null ? Duration.ZERO : Duration.between(startedAt, Instant.now());
        boolean sigkilled = status.signal() == 9 || (status.signal() == 0 && status.code() == 128 + 9);
        lastExit = ooms > 0 && sigkilled
                ? "killed by the OOM killer at its memory limit (" + status.describe() + ")"
                : status.describe();
        if (ooms > 0 && sigkilled) log.warn("vassal {}: payload {}", name, lastExit);
        if (services != null) services.gone();
        else ctx.store().daemons().forget(name, null);
        services = null;
        ctx.launcher().cleanUp(name);
        Then next = then;
        then = Then.RESPAWN_BY_POLICY;
        boolean crash = next == Then.RESPAWN_BY_POLICY;
        if (crash) restarts++;
        ctx.store().vassals().recordExit(name, lastExit, crash);
        event("exit", lastExit + " after " + ranFor.toSeconds() + "s");
        note("payload exited: " + lastExit);
        switch (next) {
            case REMOVE -> finishRemoval();
            case FORGET -> {
                ctx.launcher().releaseDisk(name);
                transition(VassalState.STOPPED, "emperor shut down");
                ctx.forget(this, null);
            }
            case STAY_STOPPED -> transition(VassalState.STOPPED, "stopped; payload " + lastExit);
            case SPAWN_NOW -> {
                if (config != null && wantRunning) spawn("reloaded");
                else transition(config == null ? VassalState.FAILED : VassalState.STOPPED,
                        config == null ? configError : "stopped");
            }
            case RESPAWN_BY_POLICY -> {
                if (!wantRunning) {
                    transition(VassalState.STOPPED, "payload " + lastExit);
                } else if (config == null) {
                    transition(VassalState.FAILED, configError);
                } else {
                    scheduleRespawn(backoff.onExit(ranFor), "payload " + lastExit);
                }
            }
        }
    }

    private void onGraceExpired(long generation, TenantProcess target) {
        if (generation != timerGeneration || target != process) return;
        log.warn("vassal {}: still running {} after SIGTERM: killing every process in its cgroup",
                name, ctx.config().stopGrace());
        event("stop", "grace period over: SIGKILL to the cgroup");
        ctx.launcher().kill(name, target);
    }

    private void onRetry(long generation) {
        if (generation != timerGeneration || process != null || removed) return;
        if (state != VassalState.BACKING_OFF || !wantRunning || config == null) return;
        spawn("back-off delay over");
    }

    /**
     * An event handler threw (a bug, or a resource that failed where nothing expected it): the
     * tenant must never stay down, or half-way, with nothing said. The error becomes lastError,
     * and a tenant that should run but has no payload is tried again after its back-off.
     */
    private void onEventFailed(RuntimeException e) {
        String error = "the emperor failed to handle a change: " + e;
        spawnError = error;
        ctx.store().vassals().recordError(name, error);
        if (process == null && !removed && wantRunning && config != null && state != VassalState.BACKING_OFF) {
            scheduleRespawn(backoff.onFailure(), error);
        }
    }

    // ---- steps ------------------------------------------------------------------------------

    private void spawn(String why) {
        VassalConfig cfg = config;
        transition(VassalState.STARTING, why);
        try {
            // Nothing of this tenant runs under our watch (process is null): anything in its
            // cgroup was left by an emperor that died mid-spawn or mid-cleanup, and goes first.
            killLeftovers();
            TenantLauncher.Spawned spawned = ctx.launcher().spawn(cfg);
            TenantProcess started = spawned.process();
            process = started;
            startedAt = Instant.now();
            retryAt = null;
            spawnError = null;
            waitingForStateDirectory = false;
            ctx.store().vassals().recordSpawn(name, started.pid(), started.startTime(), cfg.contentHash(), spawned.uid(),
                    spawned.gid());
            event("spawn", "pid " + started.pid() + " (" + why + ")");
            note("spawned pid " + started.pid() + ": " + why);
            transition(VassalState.RUNNING, why);
            ctx.reaper().watch(started, status -> mailbox.post(() -> onExited(started, status)));
            startServices(cfg, spawned.uid(), spawned.gid());
        } catch (ConfigError | RuntimeException e) {
            // Any failure, even an unexpected one, ends in backing-off with its reason shown:
            // a tenant must never stay "starting" with nothing said.
            String error = e instanceof JailException || e instanceof ConfigError || e instanceof StateNotWritable
                    ? e.getMessage() : e.toString();
            if (e instanceof StateNotWritable && waitingForStateDirectory) {
                // Still waiting for the state directory: said once, retried quietly every second.
                spawnError = error;
                scheduleRespawn(STATE_RETRY, "waiting for the state directory: " + error);
                return;
            }
            ctx.store().vassals().recordError(name, error);
            event("error", error);
            note("spawn failed: " + error);
            log.error("vassal {}: spawn failed: {}", name, error);
            configError = e instanceof ConfigError ? error : null;
            spawnError = error; // shown as lastError: "-" said nothing while it crash-looped
            // A new tenant's uid and address must be on disk before it runs: while the state
            // directory refuses writes it waits, tried every second (and at once when the store
            // takes writes again), not at the end of a growing back-off.
            waitingForStateDirectory = e instanceof StateNotWritable;
            scheduleRespawn(waitingForStateDirectory ? STATE_RETRY : backoff.onFailure(),
                    (waitingForStateDirectory ? "waiting for the state directory: " : "spawn failed: ") + error);
        }
    }

    /**
     * Kills the processes an earlier emperor left in this tenant's cgroup (none while a pid 1
     * is watched: then its cgroup is its own), noting it. A failure (processes that would not
     * die) is thrown to the caller.
     */
    private void killLeftovers() {
        if (process != null) return;
        java.util.Set<Integer> pids = ctx.launcher().killLeftovers(name);
        if (pids.isEmpty()) return;
        String what = "killed leftover processes " + pids + " in its cgroup (started by an emperor that died before"
                + " recording or cleaning them up)";
        log.warn("vassal {}: {}", name, what);
        event("stop", what);
        note(what);
    }

    /** As {@link #killLeftovers}, for a stop: a failure is recorded and shown, the stop goes on. */
    private void killLeftoversOrSayWhy() {
        try {
            killLeftovers();
        } catch (RuntimeException e) {
            String error = "cannot kill leftover processes: " + e.getMessage();
            log.error("vassal {}: {}", name, error);
            ctx.store().vassals().recordError(name, error);
            event("error", error);
            spawnError = error;
        }
    }

    /** Cron jobs and daemons of the payload that just started (or was adopted). */
    private void startServices(VassalConfig cfg, int uid, int gid) {
        services = new TenantServices(name, ctx, mailbox::post, process, cfg, uid, gid);
        services.apply(cfg);
    }

    private void beginStop(VassalState stoppingState, String why, Then afterwards) {
        if (state == VassalState.STOPPING || state == VassalState.RELOADING) {
            // Already on its way down: change only what follows the exit (never undoing a
            // removal), without signalling again or restarting the grace period, so a stream
            // of file changes cannot keep a stubborn payload alive.
            if (then == Then.REMOVE || then == Then.FORGET) return;
            then = afterwards;
            transition(stoppingState, why);
            return;
        }
        then = afterwards;
        transition(stoppingState, why);
        if (services != null) services.stop();
        TenantProcess target = process;
        if (!target.signal(15)) return; // already gone: the reaper's notification follows
        long generation = ++timerGeneration;
        cancelTimerOnly();
        timer = ctx.timers().schedule(() -> mailbox.post(() -> onGraceExpired(generation, target)),
                ctx.config().stopGrace().toMillis(), TimeUnit.MILLISECONDS);
    }

    private void scheduleRespawn(Duration delay, String why) {
        if (delay.isZero()) {
            spawn("restarted: " + why);
            return;
        }
        long generation = ++timerGeneration;
        cancelTimerOnly();
        retryAt = Instant.now().plus(delay);
        transition(VassalState.BACKING_OFF, why + "; restart in " + delay.toSeconds() + "s");
        timer = ctx.timers().schedule(() -> mailbox.post(() -> onRetry(generation)),
                delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void finishRemoval() {
        ctx.launcher().cleanUp(name);
        ctx.launcher().releaseDisk(name);
        ctx.launcher().removeRuntimeFiles(name);
        try {
            ctx.launcher().forgetLiveSettings(name);
        } catch (RuntimeException e) {
            // Never a reason to keep a removed tenant: it would stay in status for good.
            log.error("vassal {}: forgetting its site and ports: {}", name, e.toString());
        }
        retire();
        transition(VassalState.STOPPED, "vassal file removed");
        ctx.forget(this, replay);
    }

    /**
     * The name's file is here (valid or not): a retired tenant of this name is retired no more
     * and gets everything it had; a name with nothing recorded is a new tenant, given a fresh
     * uid, address and home when it first runs. Said in its events either way.
     */
    private void arrive() {
        if (arrived) return;
        arrived = true;
        switch (ctx.store().identities().arrive(name)) {
            case RESTORED -> {
                event("identity", "restored (same tenant): its file came back within retention; its uid, address,"
                        + " public ports, domains, home and disk image are its own again");
                log.info("vassal {}: restored (same tenant) within retention", name);
            }
            case NEW -> event("identity", "new tenant (fresh identity)");
            case KNOWN -> { }
        }
    }

    /**
     * The file is gone and the tenant stopped: it is retired, not forgotten. Its identity and
     * data stay reserved for its name until `emperor purge` or the end of retention, so a name
     * reused for someone else never inherits them silently (see docs/SECURITY.md).
     */
    private void retire() {
        Instant now = Instant.now();
        if (!ctx.store().identities().retire(name, now)) return; // retired already: its first retirement time stands
        Duration retain = ctx.config().retain();
        event("identity", "retired: its uid, address, public ports, domains, home and disk image stay reserved for "
                + name + " until " + Retention.shown(Retention.expiresAt(now, retain))
                + " (retain " + Retention.describe(retain) + "); a file of this name before then is the same tenant; `emperor purge "
                + name + "` deletes them now");
    }

    private void cancelTimer() {
        timerGeneration++;
        cancelTimerOnly();
        retryAt = null;
    }

    private void cancelTimerOnly() {
        if (timer != null) timer.cancel(false);
        timer = null;
    }

    private void transition(VassalState next, String why) {
        VassalState previous = state;
        state = next; // before the hook: what it triggers (status-dir's writer) reads the new state
        reason = why;
        if (previous != next) {
            log.info("vassal {}: {} -> {} ({})", name, previous.label(), next.label(), why);
            ctx.stateChanged(name, next, retryAt);
        }
    }

    /** A line in the tenant's own log saying what the emperor did, so the tenant sees it too. */
    private void note(String line) {
        try {
            ctx.logs().append(name, line);
        } catch (java.io.IOException e) {
            log.warn("vassal {}: cannot write its log: {}", name, e.toString());
        }
    }

    private void event(String kind, String detail) {
        ctx.store().events().record(name, EventKind.valueOf(kind.toUpperCase(java.util.Locale.ROOT)), detail);
    }

    // ---- observation ----------------------------------------------------------------------

    /** Where the vassal stands, from its own fields alone (status() also reads cgroups, the network and the database). */
    public record Progress(String state, int pid, String reason, String lastError) {}

    /** For polling (`--wait`): cheap enough to ask ten times a second. */
    public Progress progress() {
        // The state before the process: spawn sets process, then the state to running, so a
        // "running" read first always comes with its pid (read the other way round, a status
        // taken during a spawn could say running with pid 0).
        VassalState st = state;
        String why = reason;
        TenantProcess p = process;
        String error = configError;
        return new Progress(st.label(), p == null ? 0 : p.pid(), why, error != null ? error : spawnError);
    }

    public VassalStatus status() {
        VassalState st = state; // before the process: see progress()
        String why = reason;
        TenantProcess p = process;
        TenantServices s = services;
        Optional<CgroupStats> stats = p == null ? Optional.empty() : ctx.launcher().stats(name);
        VassalConfig cfg = config;
        Optional<TenantNetwork.Traffic> traffic = ctx.launcher().traffic(name);
        return new VassalStatus(name, st.label(), why,
                p == null ? 0 : p.pid(),
                p == null || startedAt == null ? 0 : Duration.between(startedAt, Instant.now()).toSeconds(),
                restarts, lastExit, configError != null ? configError : spawnError,
                stats.map(CgroupStats::memoryBytes).orElse(0L),
                stats.map(CgroupStats::cpuUsageNanos).orElse(0L),
                oomKillsOfEarlierPayloads + stats.map(CgroupStats::oomKills).orElse(0L),
                stats.map(CgroupStats::tasks).orElse(0L),
                cfg == null ? null : cfg.source().toString(),
                cfg == null ? null : cfg.distro(),
                ctx.store().vassals().get(name).map(r -> Math.max(0, r.uid())).orElse(0), // -1: never spawned
                retryAt == null ? 0 : Math.max(0, Duration.between(Instant.now(), retryAt).toSeconds()),
                traffic.map(TenantNetwork.Traffic::address).orElse(null),
                traffic.map(TenantNetwork.Traffic::packetsIn).orElse(0L),
                traffic.map(TenantNetwork.Traffic::packetsOut).orElse(0L),
                traffic.map(TenantNetwork.Traffic::bytesIn).orElse(0L),
                traffic.map(TenantNetwork.Traffic::bytesOut).orElse(0L),
                traffic.map(TenantNetwork.Traffic::drops).orElse(0L),
                traffic.map(TenantNetwork.Traffic::dropsByReason).orElse(java.util.Map.of()),
                s == null ? java.util.List.of() : s.daemonStatus(),
                s == null ? java.util.List.of() : s.cronStatus(),
                ctx.logs().problem(name),
                ctx.logs().droppedLines(name));
    }

    /** The live payload, if any (for the shell entry and tests). */
    public Optional<TenantProcess> process() {
        return Optional.ofNullable(process);
    }

    /** A running payload and the configuration it was started from. */
    public record Running(TenantProcess process, VassalConfig config) {}

    /** The payload and its configuration while the tenant is running (for the shell entry). */
    public Optional<Running> running() {
        TenantProcess p = process;
        VassalConfig cfg = config;
        if (p == null || cfg == null || state != VassalState.RUNNING) return Optional.empty();
        return Optional.of(new Running(p, cfg));
    }

    /** The disk bound of its last valid file (unlimited while it has none). */
    public dev.emperor.supervisor.config.DiskQuota diskQuota() {
        VassalConfig cfg = config;
        return cfg == null ? dev.emperor.supervisor.config.DiskQuota.UNLIMITED : cfg.disk();
    }

    /** Why the tenant is in its state, e.g. "stopped by operator". */
    public String reason() {
        return reason;
    }

    public VassalState state() {
        return state;
    }
}
