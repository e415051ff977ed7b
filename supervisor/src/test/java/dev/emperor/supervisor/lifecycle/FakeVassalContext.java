package dev.emperor.supervisor.lifecycle;

import dev.emperor.jail.ExitStatus;
import dev.emperor.jail.JailException;
import dev.emperor.jail.TenantProcess;
import dev.emperor.jail.cgroup.CgroupStats;
import dev.emperor.supervisor.config.ConfigError;
import dev.emperor.supervisor.config.HostVassalEnvironment;
import dev.emperor.supervisor.config.VassalConfig;
import dev.emperor.supervisor.config.VassalFiles;
import dev.emperor.supervisor.network.TenantNetwork;
import dev.emperor.supervisor.services.CronJobStatus;
import dev.emperor.supervisor.services.DaemonStatus;
import dev.emperor.supervisor.services.TaskTimer;
import dev.emperor.supervisor.state.Desired;
import dev.emperor.supervisor.state.EventKind;
import dev.emperor.supervisor.state.TenantIdentityStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * Everything a {@link Vassal} uses, as fakes of our own small interfaces: payloads that exit
 * when the test says, timers that fire when the test says, a clock the test moves, and a log
 * of what the vassal asked for. Mailboxes run on the calling thread, so each call has been
 * handled completely when it returns.
 */
final class FakeVassalContext implements VassalContext, VassalRecords, TenantResources, PayloadRunner, TenantNotes,
        LifecycleSettings, TaskTimer {
    static final Duration GRACE = Duration.ofSeconds(10);

    /** A payload that runs until the test ends it. */
    final class FakePayload implements Payload {
        final int pid;
        final String tenant;
        boolean alive = true;
        final List<Integer> signals = new ArrayList<>();
        Consumer<ExitStatus> onExit;

        FakePayload(int pid, String tenant) {
            this.pid = pid;
            this.tenant = tenant;
        }

        @Override
        public int pid() {
            return pid;
        }

        @Override
        public long startTime() {
            return pid * 7L;
        }

        @Override
        public boolean signal(int sig) {
            signals.add(sig);
            return alive;
        }

        @Override
        public void close() {
        }

        @Override
        public TenantProcess process() {
            return null;
        }

        /** The payload exits now (its vassal hears of it, as the reaper would tell it). */
        void exit(ExitStatus status) {
            if (!alive) throw new IllegalStateException("pid " + pid + " exited already");
            alive = false;
            live.remove(this);
            if (onExit != null) onExit.accept(status);
        }
    }

    /** A timer task the test fires. */
    final class Timed implements TaskTimer.Pending {
        final Instant due;
        final Runnable task;
        boolean cancelled;

        Timed(Instant due, Runnable task) {
            this.due = due;
            this.task = task;
        }

        @Override
        public void cancel() {
            cancelled = true;
        }
    }

    final Path dir;
    private final HostVassalEnvironment env;
    Instant now = Instant.parse("2026-01-01T00:00:00Z");
    final List<String> actions = new ArrayList<>();
    final List<String> events = new ArrayList<>();
    final List<VassalState> shownStates = new ArrayList<>();
    final Map<String, Recorded> rows = new HashMap<>();
    final Set<FakePayload> live = new LinkedHashSet<>();
    final List<FakePayload> spawned = new ArrayList<>();
    final List<Timed> timers = new ArrayList<>();
    final List<Vassal> forgotten = new ArrayList<>();
    /** The vassal now holding each name (a successor replaces a forgotten one). */
    final Map<String, Vassal> current = new HashMap<>();
    final Deque<RuntimeException> spawnFailures = new ArrayDeque<>();
    /** Runs inside each spawn (e.g. an operator command arriving meanwhile). */
    Runnable duringSpawn = () -> { };
    /** Thrown by the next setDesired (an effect failing where nothing expected it). */
    RuntimeException failNextSetDesired;
    int violations;
    private int nextPid = 100;

    FakeVassalContext(Path dir) {
        this.dir = dir;
        try {
            Files.createDirectories(dir.resolve("distros/bookworm/srv"));
            Files.createDirectories(dir.resolve("vassals"));
            Files.writeString(dir.resolve("passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.env = new HostVassalEnvironment(dir.resolve("distros"), dir.resolve("passwd"), 64L << 20);
    }

    /** A vassal of this name, as the emperor makes one. */
    Vassal vassal(String name) {
        Vassal v = new Vassal(name, this);
        current.put(name, v);
        return v;
    }

    /** A valid configuration of {@code name} with these extra lines. */
    VassalConfig config(String name, String... lines) {
        try {
            Path file = Files.writeString(dir.resolve("vassals").resolve(name + ".ini"),
                    "[vassal]\nexec = /bin/sleep 1000\n" + String.join("\n", lines) + "\n");
            return VassalFiles.load(file, env);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (ConfigError e) {
            throw new AssertionError(e);
        }
    }

    FakePayload lastSpawned() {
        return spawned.get(spawned.size() - 1);
    }

    List<Timed> pendingTimers() {
        return timers.stream().filter(t -> !t.cancelled).toList();
    }

    /** Moves the clock to the next pending timer and fires it; false if none is pending. */
    boolean fireNextTimer() {
        Optional<Timed> next = pendingTimers().stream().min(Comparator.comparing(t -> t.due));
        if (next.isEmpty()) return false;
        Timed t = next.get();
        t.cancelled = true; // ran
        if (t.due.isAfter(now)) now = t.due;
        t.task.run();
        return true;
    }

    // ---- VassalContext ----

    @Override
    public LifecycleSettings settings() {
        return this;
    }

    @Override
    public VassalRecords records() {
        return this;
    }

    @Override
    public TenantResources resources() {
        return this;
    }

    @Override
    public PayloadRunner payloads() {
        return this;
    }

    @Override
    public TenantNotes notes() {
        return this;
    }

    @Override
    public TaskTimer timer() {
        return this;
    }

    @Override
    public InstantSource clock() {
        return () -> now;
    }

    @Override
    public Executor mailboxExecutor() {
        return Runnable::run;
    }

    @Override
    public void stateChanged(String name, VassalState state, Instant retryAt) {
        shownStates.add(state);
    }

    @Override
    public void forget(Vassal vassal, Consumer<Vassal> replay) {
        actions.add("forget " + vassal.name() + (replay == null ? "" : " with its file for a successor"));
        forgotten.add(vassal);
        if (current.get(vassal.name()) != vassal) return;
        current.remove(vassal.name());
        if (replay != null) replay.accept(vassal(vassal.name()));
    }

    // ---- LifecycleSettings ----

    @Override
    public Duration stopGrace() {
        return GRACE;
    }

    @Override
    public Duration backoffMax() {
        return Duration.ofSeconds(60);
    }

    @Override
    public Duration retain() {
        return Duration.ofDays(7);
    }

    // ---- TaskTimer ----

    @Override
    public Pending after(Duration delay, Runnable task) {
        Timed t = new Timed(now.plus(delay), task);
        timers.add(t);
        return t;
    }

    // ---- VassalRecords ----

    @Override
    public Optional<Recorded> recorded(String name) {
        return Optional.ofNullable(rows.get(name));
    }

    private Recorded row(String name) {
        return rows.getOrDefault(name, new Recorded(Desired.RUN, 0, null, null, -1, -1));
    }

    @Override
    public void setDesired(String name, Desired desired) {
        RuntimeException failure = failNextSetDesired;
        failNextSetDesired = null;
        if (failure != null) throw failure;
        Recorded r = row(name);
        rows.put(name, new Recorded(desired, r.restarts(), r.lastExit(), r.configHash(), r.uid(), r.gid()));
    }

    @Override
    public void recordSpawn(String name, int pid, long startTime, String configHash, int uid, int gid) {
        Recorded r = row(name);
        rows.put(name, new Recorded(r.desired(), r.restarts(), r.lastExit(), configHash, uid, gid));
    }

    @Override
    public void recordConfigHash(String name, String configHash) {
        Recorded r = row(name);
        rows.put(name, new Recorded(r.desired(), r.restarts(), r.lastExit(), configHash, r.uid(), r.gid()));
    }

    @Override
    public void recordExit(String name, String lastExit, boolean countsAsRestart) {
        Recorded r = row(name);
        rows.put(name, new Recorded(r.desired(), r.restarts() + (countsAsRestart ? 1 : 0), lastExit, r.configHash(),
                r.uid(), r.gid()));
    }

    @Override
    public void recordError(String name, String error) {
    }

    @Override
    public void forgetDaemons(String name) {
    }

    @Override
    public void event(String name, EventKind kind, String detail) {
        events.add(kind + " " + detail);
    }

    @Override
    public TenantIdentityStore.Arrival arrive(String name) {
        return rows.containsKey(name) ? TenantIdentityStore.Arrival.KNOWN : TenantIdentityStore.Arrival.NEW;
    }

    @Override
    public boolean retire(String name, Instant at) {
        actions.add("retire " + name);
        return true;
    }

    // ---- TenantResources ----

    @Override
    public Set<Integer> killLeftovers(String name) {
        return Set.of();
    }

    @Override
    public void cleanUp(String name) {
        actions.add("clean up " + name);
    }

    @Override
    public void releaseDisk(String name) {
        actions.add("release disk " + name);
    }

    @Override
    public void removeRuntimeFiles(String name) {
    }

    @Override
    public void applyLiveSettings(String name, VassalConfig cfg) {
    }

    @Override
    public void forgetLiveSettings(String name) {
    }

    @Override
    public Optional<CgroupStats> stats(String name) {
        return Optional.empty();
    }

    @Override
    public Optional<TenantNetwork.Traffic> traffic(String name) {
        return Optional.empty();
    }

    // ---- PayloadRunner ----

    @Override
    public Spawned spawn(VassalConfig cfg) {
        duringSpawn.run();
        if (!spawnFailures.isEmpty()) throw spawnFailures.pop();
        // The invariant the lifecycle keeps: one payload per tenant name, whichever vassal holds it.
        if (live.stream().anyMatch(p -> p.tenant.equals(cfg.name()))) violations++;
        FakePayload p = new FakePayload(nextPid++, cfg.name());
        live.add(p);
        spawned.add(p);
        actions.add("spawn " + cfg.name() + " pid " + p.pid + " hash " + cfg.contentHash().substring(0, 8));
        return new Spawned(p, 150000, 150000);
    }

    @Override
    public void watch(Payload payload, Consumer<ExitStatus> onExit) {
        ((FakePayload) payload).onExit = onExit;
    }

    @Override
    public void kill(String name, Payload payload) {
        actions.add("kill " + name + " pid " + payload.pid());
    }

    @Override
    public PayloadServices startServices(String name, Payload payload, VassalConfig cfg, int uid, int gid,
            Executor mailbox) {
        actions.add("services start " + name);
        return new PayloadServices() {
            @Override
            public void apply(VassalConfig c) {
                actions.add("services apply " + name + " cron " + c.cron().size());
            }

            @Override
            public void stop() {
                actions.add("services stop " + name);
            }

            @Override
            public void gone() {
                actions.add("services gone " + name);
            }

            @Override
            public List<DaemonStatus> daemonStatus() {
                return List.of();
            }

            @Override
            public List<CronJobStatus> cronStatus() {
                return List.of();
            }
        };
    }

    static JailException jailFailure(String why) {
        return new JailException("clone", why);
    }

    // ---- TenantNotes ----

    @Override
    public void append(String name, String line) {
        actions.add("note " + name + ": " + line);
    }

    @Override
    public String problem(String name) {
        return null;
    }

    @Override
    public long droppedLines(String name) {
        return 0;
    }
}
