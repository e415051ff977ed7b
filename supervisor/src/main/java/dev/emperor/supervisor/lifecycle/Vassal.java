package dev.emperor.supervisor.lifecycle;

import dev.emperor.jail.ExitStatus;
import dev.emperor.jail.JailException;
import dev.emperor.jail.TenantProcess;
import dev.emperor.jail.cgroup.CgroupStats;
import dev.emperor.supervisor.config.ConfigError;
import dev.emperor.supervisor.config.DiskQuota;
import dev.emperor.supervisor.config.VassalConfig;
import dev.emperor.supervisor.network.TenantNetwork;
import dev.emperor.supervisor.services.TaskTimer;
import dev.emperor.supervisor.state.Desired;
import dev.emperor.supervisor.state.EventKind;
import dev.emperor.supervisor.state.StateNotWritable;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One vassal: its events are handled one at a time in its own {@link Mailbox}; what each does
 * is decided by {@link Transition#next} from its {@link Lifecycle}, and this class only carries
 * out the resulting {@link Effect}s on its data (configuration, payload, services, timer).
 * Everything it does is written to the state store and the emperor's log with the reason.
 */
public final class Vassal {
    private static final Logger log = LoggerFactory.getLogger(Vassal.class);
    /** How often a spawn waiting for the state directory is tried again. */
    private static final Duration STATE_RETRY = Duration.ofSeconds(1);
    /** A payload that ran this long was healthy: its next crash restarts at once. */
    private static final Duration STABLE_AFTER = Duration.ofSeconds(10);

    private final String name;
    private final VassalContext ctx;
    private final Mailbox mailbox;
    private final Backoff backoff;
    private final IdentityEvents identity;

    /** Decides everything; written only from the mailbox. */
    private Lifecycle lifecycle;

    // Data the effects keep. Written only from the mailbox; read (for status) from anywhere.
    private volatile VassalState state = VassalState.STOPPED;
    private volatile String reason = "not started yet";
    private volatile VassalConfig config;
    private volatile String configError;
    /** Why the last spawn failed (or an event failed), until one succeeds. */
    private volatile String spawnError;
    private volatile Payload process;
    private volatile Instant startedAt;
    private volatile String lastExit;
    private volatile int restarts;
    private volatile Instant retryAt;
    private volatile PayloadServices services;
    /** OOM kills in the cgroups of payloads that have exited (each payload gets a fresh cgroup). */
    private volatile long oomKillsOfEarlierPayloads;
    private TaskTimer.Pending timer;
    private Duration retryDelay = Duration.ZERO;
    /** The file event its successor gets first (see {@link Effect#KEEP_FILE_FOR_SUCCESSOR}). */
    private Consumer<Vassal> successorFile;

    public Vassal(String name, VassalContext ctx) {
        this.name = name;
        this.ctx = ctx;
        this.mailbox = new Mailbox(ctx.mailboxExecutor(), name, this::onEventFailed);
        this.backoff = new Backoff(ctx.settings().backoffMax(), STABLE_AFTER);
        this.identity = new IdentityEvents(name, ctx);
        Optional<VassalRecords.Recorded> row = ctx.records().recorded(name);
        this.lifecycle = Lifecycle.initial(row.map(r -> r.desired() != Desired.STOP).orElse(true));
        row.ifPresent(r -> {
            restarts = r.restarts();
            lastExit = r.lastExit();
        });
        ctx.stateChanged(name, state, null); // nothing of it runs until it is spawned or adopted
    }

    public String name() {
        return name;
    }

    // ---- events (any thread) -------------------------------------------------------------

    /** The vassal file now holds this (valid) configuration. */
    public void configured(VassalConfig newConfig) {
        mailbox.post(() -> handle(Delivery.file(fileEvent(newConfig), newConfig)));
    }

    /** The vassal file is invalid. */
    public void invalid(String error) {
        mailbox.post(() -> handle(Delivery.error(LifecycleEvent.FILE_INVALID, error, true)));
    }

    /** The vassal file was deleted: stop and forget the tenant (its uid stays reserved). */
    public void removed() {
        post(LifecycleEvent.FILE_REMOVED);
    }

    /** A live payload found after an emperor restart. */
    public void adopted(TenantProcess live, Instant since) {
        adopted(new HostVassalContext.JailedPayload(live), since);
    }

    void adopted(Payload live, Instant since) {
        mailbox.post(() -> handle(Delivery.adopted(live, since)));
    }

    /** The emperor is exiting and takes its tenants down (on-exit = stop); they return on its next start. */
    public void shutdown() {
        post(LifecycleEvent.SHUTDOWN);
    }

    public void start() {
        post(LifecycleEvent.START);
    }

    public void stop() {
        post(LifecycleEvent.STOP);
    }

    public void reload() {
        post(LifecycleEvent.RELOAD);
    }

    /**
     * The state directory takes writes again after refusing them: a spawn that could not record
     * the tenant's uid or address is tried now rather than at the end of its retry delay.
     */
    public void stateWritableAgain() {
        post(LifecycleEvent.STATE_WRITABLE);
    }

    /** Completes once every event posted before this call has been handled. */
    public CompletableFuture<Void> afterQueuedEvents() {
        var done = new CompletableFuture<Void>();
        mailbox.post(() -> done.complete(null));
        return done;
    }

    private void post(LifecycleEvent event) {
        mailbox.post(() -> handle(Delivery.of(event)));
    }

    // ---- the mailbox: the table decides, the effects follow -----------------------------

    /**
     * What a valid file means for the payload now running (the table decides what to do with
     * it): the file an adopted payload was started from, the same bytes, a change of the lines
     * a running payload takes live, or a change that needs a new payload.
     */
    private LifecycleEvent fileEvent(VassalConfig next) {
        VassalConfig old = config;
        if (old == null) {
            String recorded = ctx.records().recorded(name).map(VassalRecords.Recorded::configHash).orElse(null);
            return next.contentHash().equals(recorded) ? LifecycleEvent.FILE_MATCHES_ADOPTED : LifecycleEvent.FILE_CHANGED;
        }
        if (old.contentHash().equals(next.contentHash())) return LifecycleEvent.FILE_UNCHANGED;
        if (services != null && !old.needsRestartFor(next)) return LifecycleEvent.FILE_LIVE_CHANGE;
        return LifecycleEvent.FILE_CHANGED;
    }

    private void handle(Delivery delivery) {
        while (delivery != null) {
            Transition.Step step = Transition.next(lifecycle, delivery.event());
            lifecycle = step.next();
            Delivery followUp = null;
            for (Effect effect : step.effects()) {
                Delivery result = run(effect, step, delivery);
                if (result != null) followUp = result;
            }
            delivery = followUp; // a spawn's result, handled before any other event
        }
    }

    private void onExited(Payload exited, ExitStatus status) {
        if (exited != process) return; // a stale notification for an earlier payload
        Duration ranFor = startedAt == null ? Duration.ZERO : Duration.between(startedAt, ctx.clock().instant());
        LifecycleEvent event = backoff.ranLongEnough(ranFor) ? LifecycleEvent.EXITED_AFTER_STABLE_RUN : LifecycleEvent.EXITED;
        handle(Delivery.exited(event, exited, status, ranFor));
    }

    /** A timer's event, unless the timer was cancelled or replaced since (or the payload changed). */
    private void onTimer(long generation, LifecycleEvent event, Payload target) {
        if (generation != lifecycle.timer() || target != process) return;
        handle(Delivery.of(event));
    }

    /**
     * An event handler threw (a bug, or a resource that failed where nothing expected it): the
     * tenant must never stay down, or half-way, with nothing said.
     */
    private void onEventFailed(RuntimeException e) {
        handle(Delivery.error(LifecycleEvent.HANDLER_FAILED, "the emperor failed to handle a change: " + e, false));
    }

    /** Carries out one effect; returns the event it produced (a spawn's result), else null. */
    private Delivery run(Effect effect, Transition.Step step, Delivery d) {
        switch (effect) {
            case ARRIVE -> identity.arrived();
            case TAKE_FILE -> {
                config = d.config();
                configError = null;
                ctx.records().recordError(name, null);
                applyLiveSettings(d.config());
            }
            case TAKE_ERROR -> {
                configError = d.error();
                ctx.records().recordError(name, d.error());
                log.error("vassal {}: {}", name, d.error());
                note("invalid vassal file: " + d.error());
            }
            case DROP_CONFIG -> config = null;
            case KEEP_FILE_FOR_SUCCESSOR -> {
                VassalConfig cfg = d.config();
                String error = d.error();
                successorFile = cfg != null ? next -> next.configured(cfg) : next -> next.invalid(error);
            }
            case DROP_FILE_FOR_SUCCESSOR -> successorFile = null;
            case START_ADOPTED_SERVICES -> {
                log.info("vassal {}: adopted payload matches its file", name);
                VassalRecords.Recorded row = ctx.records().recorded(name).orElseThrow();
                startServices(row.uid(), row.gid());
            }
            case APPLY_WITHOUT_RESTART -> {
                // Only firewall, web site, cron or daemon lines changed: the payload keeps running.
                event(EventKind.CONFIG,
                        "file changed (only firewall, net-rate, web site, cron or daemon lines): applied without a restart");
                ctx.records().recordConfigHash(name, config.contentHash());
                services.apply(config);
            }
            case RECORD_EVENT -> recordEvent(d);
            case PERSIST_WANTED -> ctx.records().setDesired(name, lifecycle.wanted() ? Desired.RUN : Desired.STOP);
            case RESET_BACKOFF -> backoff.reset();
            case CANCEL_TIMER -> {
                cancelTimer();
                retryAt = null;
            }
            case KILL_LEFTOVERS -> killLeftoversOrSayWhy();
            case TAKE_PAYLOAD -> {
                process = d.payload();
                startedAt = d.since();
            }
            case WATCH -> {
                Payload watched = process;
                ctx.payloads().watch(watched, status -> mailbox.post(() -> onExited(watched, status)));
            }
            case STOP_SERVICES -> {
                if (services != null) services.stop();
            }
            case TERMINATE -> terminate();
            case KILL -> {
                log.warn("vassal {}: still running {} after SIGTERM: killing every process in its cgroup",
                        name, ctx.settings().stopGrace());
                ctx.payloads().kill(name, process);
            }
            case SPAWN -> {
                return spawn();
            }
            case TAKE_SPAWNED -> {
                process = d.spawned().payload();
                startedAt = ctx.clock().instant();
                retryAt = null;
                spawnError = null;
            }
            case RECORD_SPAWN -> {
                Payload started = process;
                ctx.records().recordSpawn(name, started.pid(), started.startTime(), config.contentHash(),
                        d.spawned().uid(), d.spawned().gid());
                event(EventKind.SPAWN, "pid " + started.pid() + " (" + reason + ")");
                note("spawned pid " + started.pid() + ": " + reason);
            }
            case START_SERVICES -> startServices(d.spawned().uid(), d.spawned().gid());
            case REPORT_SPAWN_FAILURE -> {
                ctx.records().recordError(name, d.error());
                event(EventKind.ERROR, d.error());
                note("spawn failed: " + d.error());
                log.error("vassal {}: spawn failed: {}", name, d.error());
                configError = d.configError() ? d.error() : null;
                spawnError = d.error(); // shown as lastError: "-" said nothing while it crash-looped
            }
            case NOTE_SPAWN_FAILURE_QUIETLY -> spawnError = d.error();
            case REPORT_HANDLER_FAILURE -> {
                spawnError = d.error();
                ctx.records().recordError(name, d.error());
            }
            case BACK_OFF -> scheduleRetry(backoff.onFailure());
            // A new tenant's uid and address must be on disk before it runs: while the state
            // directory refuses writes it is tried every second, not after a growing back-off.
            case RETRY_SOON -> scheduleRetry(STATE_RETRY);
            case REAP -> reap(d.payload(), d.exit());
            case RECORD_EXIT, RECORD_CRASH -> {
                boolean crash = effect == Effect.RECORD_CRASH;
                if (crash) restarts++;
                ctx.records().recordExit(name, lastExit, crash);
                event(EventKind.EXIT, lastExit + " after " + d.ranFor().toSeconds() + "s");
                note("payload exited: " + lastExit);
            }
            case CLEAN_UP_REMOVED -> cleanUpRemoved();
            case RETIRE -> identity.retired();
            case RELEASE_DISK -> ctx.resources().releaseDisk(name);
            case STATE -> show(lifecycle.phase().shown(), why(step.why(), d));
            case FORGET -> ctx.forget(this, successorFile);
        }
        return null;
    }

    // ---- effects ----------------------------------------------------------------------------

    /** Sets up the jail and execs the payload; any failure, even an unexpected one, is an event with its reason. */
    private Delivery spawn() {
        try {
            // Nothing of this tenant runs under our watch: anything in its cgroup was left by an
            // emperor that died mid-spawn or mid-cleanup, and goes first.
            killLeftovers();
            return Delivery.spawned(ctx.payloads().spawn(config));
        } catch (ConfigError | RuntimeException e) {
            String error = e instanceof JailException || e instanceof ConfigError || e instanceof StateNotWritable
                    ? e.getMessage() : e.toString();
            LifecycleEvent event = e instanceof StateNotWritable ? LifecycleEvent.SPAWN_REFUSED : LifecycleEvent.SPAWN_FAILED;
            return Delivery.error(event, error, e instanceof ConfigError);
        }
    }

    private void terminate() {
        Payload target = process;
        if (!target.signal(15)) return; // already gone: the reaper's notification follows
        long generation = lifecycle.timer();
        cancelTimer();
        timer = ctx.timer().after(ctx.settings().stopGrace(),
                () -> mailbox.post(() -> onTimer(generation, LifecycleEvent.GRACE_OVER, target)));
    }

    private void scheduleRetry(Duration delay) {
        long generation = lifecycle.timer();
        cancelTimer();
        retryDelay = delay;
        retryAt = ctx.clock().instant().plus(delay);
        timer = ctx.timer().after(delay, () -> mailbox.post(() -> onTimer(generation, LifecycleEvent.RETRY_DUE, null)));
    }

    private void cancelTimer() {
        if (timer != null) timer.cancel();
        timer = null;
    }

    private void reap(Payload exited, ExitStatus status) {
        // Read before the cgroup is cleaned up: once it is gone, so is its OOM count.
        long ooms = ctx.resources().stats(name).map(CgroupStats::oomKills).orElse(0L);
        oomKillsOfEarlierPayloads += ooms;
        process = null;
        exited.close();
        boolean sigkilled = status.signal() == 9 || (status.signal() == 0 && status.code() == 128 + 9);
        lastExit = ooms > 0 && sigkilled
                ? "killed by the OOM killer at its memory limit (" + status.describe() + ")"
                : status.describe();
        if (ooms > 0 && sigkilled) log.warn("vassal {}: payload {}", name, lastExit);
        if (services != null) services.gone();
        else ctx.records().forgetDaemons(name);
        services = null;
        ctx.resources().cleanUp(name);
    }

    /**
     * Kills the processes an earlier emperor left in this tenant's cgroup (none while a pid 1
     * is watched: then its cgroup is its own), noting it. A failure (processes that would not
     * die) is thrown to the caller.
     */
    private void killLeftovers() {
        if (process != null) return;
        Set<Integer> pids = ctx.resources().killLeftovers(name);
        if (pids.isEmpty()) return;
        String what = "killed leftover processes " + pids + " in its cgroup (started by an emperor that died before"
                + " recording or cleaning them up)";
        log.warn("vassal {}: {}", name, what);
        event(EventKind.STOP, what);
        note(what);
    }

    /** As {@link #killLeftovers}, for a stop: a failure is recorded and shown, the stop goes on. */
    private void killLeftoversOrSayWhy() {
        try {
            killLeftovers();
        } catch (RuntimeException e) {
            String error = "cannot kill leftover processes: " + e.getMessage();
            log.error("vassal {}: {}", name, error);
            ctx.records().recordError(name, error);
            event(EventKind.ERROR, error);
            spawnError = error;
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
            ctx.resources().applyLiveSettings(name, cfg);
        } catch (StateNotWritable e) {
            log.error("vassal {}: site and ports wait for the state directory: {}", name, e.getMessage());
            note("site and ports wait for the state directory: " + e.getMessage());
        }
    }

    /** Cron jobs and daemons of the payload that just started (or was adopted). */
    private void startServices(int uid, int gid) {
        services = ctx.payloads().startServices(name, process, config, uid, gid, mailbox::post);
        services.apply(config);
    }

    private void cleanUpRemoved() {
        ctx.resources().cleanUp(name);
        ctx.resources().releaseDisk(name);
        ctx.resources().removeRuntimeFiles(name);
        try {
            ctx.resources().forgetLiveSettings(name);
        } catch (RuntimeException e) {
            // Never a reason to keep a removed tenant: it would stay in status for good.
            log.error("vassal {}: forgetting its site and ports: {}", name, e.toString());
        }
    }

    /** The event's own line in the tenant's event log. */
    private void recordEvent(Delivery d) {
        switch (d.event()) {
            case FILE_CHANGED -> event(EventKind.CONFIG, "file changed: reloading");
            case FILE_REMOVED -> event(EventKind.STOP, "vassal file removed");
            case ADOPTED -> event(EventKind.ADOPT, "pid " + d.payload().pid());
            case START -> event(EventKind.START, "started by operator");
            case STOP -> event(EventKind.STOP, "stopped by operator");
            case RELOAD -> event(EventKind.RELOAD, "reload requested");
            case GRACE_OVER -> event(EventKind.STOP, "grace period over: SIGKILL to the cgroup");
            default -> throw new IllegalStateException("no event line for " + d.event());
        }
    }

    /** The reason shown with the state. */
    private String why(Transition.Why why, Delivery d) {
        String restartIn = "; restart in " + retryDelay.toSeconds() + "s";
        return switch (why) {
            case UNCHANGED, SPAWNED -> reason; // a spawn's reason is the one it was started for
            case FILE_APPEARED -> "file appeared";
            case FILE_CHANGED -> "file changed";
            case STOPPED_WITH_VALID_FILE -> "stopped by operator (file is valid)";
            case FILE_INVALID -> d.error();
            case RUNNING_LAST_VALID -> "running the last valid configuration; file is invalid: " + d.error();
            case FILE_REMOVED -> "vassal file removed";
            case SHUTTING_DOWN -> "emperor shutting down";
            case SHUT_DOWN -> "emperor shut down";
            case ADOPTED -> "adopted after emperor restart (pid " + d.payload().pid() + ")";
            case STATE_WRITABLE -> "the state directory takes writes again";
            case STARTED -> "started by operator";
            case NO_VALID_FILE -> configError != null ? configError : "no valid vassal file";
            case STOPPED_BY_OPERATOR -> "stopped by operator";
            case RELOAD_REQUESTED -> "reload requested";
            case STOPPED_AFTER_EXIT -> "stopped; payload " + lastExit;
            case RELOADED -> "reloaded";
            case STOPPED -> "stopped";
            case CONFIG_ERROR -> configError;
            case PAYLOAD_EXITED -> "payload " + lastExit;
            case EXIT_BACKING_OFF -> "payload " + lastExit + restartIn;
            case RESTARTED -> "restarted: payload " + lastExit;
            case RETRY_DUE -> "back-off delay over";
            case SPAWN_FAILED -> "spawn failed: " + d.error() + restartIn;
            case WAITING_FOR_STATE -> "waiting for the state directory: " + d.error() + restartIn;
            case HANDLER_FAILED -> d.error() + restartIn;
        };
    }

    private void show(VassalState next, String why) {
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
            ctx.notes().append(name, line);
        } catch (java.io.IOException e) {
            log.warn("vassal {}: cannot write its log: {}", name, e.toString());
        }
    }

    private void event(EventKind kind, String detail) {
        ctx.records().event(name, kind, detail);
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
        Payload p = process;
        String error = configError;
        return new Progress(st.label(), p == null ? 0 : p.pid(), why, error != null ? error : spawnError);
    }

    public VassalStatus status() {
        VassalState st = state; // before the process: see progress()
        String why = reason;
        Payload p = process;
        PayloadServices s = services;
        Optional<CgroupStats> stats = p == null ? Optional.empty() : ctx.resources().stats(name);
        VassalConfig cfg = config;
        Optional<TenantNetwork.Traffic> traffic = ctx.resources().traffic(name);
        Instant now = ctx.clock().instant();
        Instant retry = retryAt;
        return new VassalStatus(name, st.label(), why,
                p == null ? 0 : p.pid(),
                p == null || startedAt == null ? 0 : Duration.between(startedAt, now).toSeconds(),
                restarts, lastExit, configError != null ? configError : spawnError,
                stats.map(CgroupStats::memoryBytes).orElse(0L),
                stats.map(CgroupStats::cpuUsageNanos).orElse(0L),
                oomKillsOfEarlierPayloads + stats.map(CgroupStats::oomKills).orElse(0L),
                stats.map(CgroupStats::tasks).orElse(0L),
                cfg == null ? null : cfg.source().toString(),
                cfg == null ? null : cfg.distro(),
                ctx.records().recorded(name).map(r -> Math.max(0, r.uid())).orElse(0), // -1: never spawned
                retry == null ? 0 : Math.max(0, Duration.between(now, retry).toSeconds()),
                traffic.map(TenantNetwork.Traffic::address).orElse(null),
                traffic.map(TenantNetwork.Traffic::packetsIn).orElse(0L),
                traffic.map(TenantNetwork.Traffic::packetsOut).orElse(0L),
                traffic.map(TenantNetwork.Traffic::bytesIn).orElse(0L),
                traffic.map(TenantNetwork.Traffic::bytesOut).orElse(0L),
                traffic.map(TenantNetwork.Traffic::drops).orElse(0L),
                traffic.map(TenantNetwork.Traffic::dropsByReason).orElse(Map.of()),
                s == null ? List.of() : s.daemonStatus(),
                s == null ? List.of() : s.cronStatus(),
                ctx.notes().problem(name),
                ctx.notes().droppedLines(name));
    }

    /** The live payload, if any (for the shell entry and tests). */
    public Optional<TenantProcess> process() {
        return Optional.ofNullable(process).map(Payload::process);
    }

    /** A running payload and the configuration it was started from. */
    public record Running(TenantProcess process, VassalConfig config) {}

    /** The payload and its configuration while the tenant is running (for the shell entry). */
    public Optional<Running> running() {
        Payload p = process;
        VassalConfig cfg = config;
        if (p == null || p.process() == null || cfg == null || state != VassalState.RUNNING) return Optional.empty();
        return Optional.of(new Running(p.process(), cfg));
    }

    /** The disk bound of its last valid file (unlimited while it has none). */
    public DiskQuota diskQuota() {
        VassalConfig cfg = config;
        return cfg == null ? DiskQuota.UNLIMITED : cfg.disk();
    }

    /** Why the tenant is in its state, e.g. "stopped by operator". */
    public String reason() {
        return reason;
    }

    public VassalState state() {
        return state;
    }

    /** The whole lifecycle state (for tests; read it from the mailbox only). */
    Lifecycle lifecycle() {
        return lifecycle;
    }
}
