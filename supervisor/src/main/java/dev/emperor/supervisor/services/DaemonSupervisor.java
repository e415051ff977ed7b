package dev.emperor.supervisor.services;

import dev.emperor.jail.ExitStatus;
import dev.emperor.supervisor.lifecycle.Backoff;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Keeps one tenant's attached daemons ({@code daemon = ...} lines) running next to its main
 * command. Each daemon has its own back-off: one that ran at least ten seconds restarts at
 * once, quick exits wait 1, 2, 4... seconds up to the emperor's backoff-max, so a daemon that
 * cannot start costs little and never disturbs the tenant's payload or other daemons.
 *
 * <p>Changing the daemon lines only touches what changed: removed lines are stopped (SIGTERM,
 * SIGKILL after the grace period), new lines started, unchanged ones keep running.
 *
 * <p>Timer tasks and exit notifications must arrive one at a time (the tenant's mailbox);
 * {@link #status()} may be called from any thread.
 */
public final class DaemonSupervisor {
    private static final int SIGTERM = 15;
    private static final int SIGKILL = 9;
    private static final Duration STABLE_AFTER = Duration.ofSeconds(10);

    private final InstantSource clock;
    private final TaskTimer timer;
    private final TenantCommands commands;
    private final Duration backoffMax;
    private final Duration grace;
    private final DaemonRecords records;
    private final ServiceEvents events;
    private final Map<String, Daemon> daemons = new LinkedHashMap<>();
    private boolean stopped;

    private final class Daemon {
        final String key;
        final DaemonSpec spec;
        final Backoff backoff = new Backoff(backoffMax, STABLE_AFTER);
        TenantCommands.Running running;
        Instant startedAt;
        TaskTimer.Pending retry;
        Instant retryAt;
        int restarts;
        String lastExit;
        boolean retired;

        Daemon(String key, DaemonSpec spec) {
            this.key = key;
            this.spec = spec;
        }
    }

    public DaemonSupervisor(InstantSource clock, TaskTimer timer, TenantCommands commands, Duration backoffMax,
            Duration grace, DaemonRecords records, ServiceEvents events) {
        this.clock = clock;
        this.timer = timer;
        this.commands = commands;
        this.backoffMax = backoffMax;
        this.grace = grace;
        this.records = records;
        this.events = events;
    }

    /**
     * Sets the tenant's daemons. The first call after an emperor restart re-adopts daemons the
     * previous emperor recorded (same line, same process) instead of starting them again;
     * recorded processes no line wants any more are stopped.
     */
    public synchronized void setDaemons(List<DaemonSpec> wanted) {
        if (stopped) return;
        Map<String, DaemonSpec> byKey = keyed(wanted);
        for (var it = daemons.entrySet().iterator(); it.hasNext(); ) {
            Daemon d = it.next().getValue();
            if (byKey.containsKey(d.key)) continue;
            it.remove();
            retire(d, "its line was removed from the vassal file");
        }
        Map<String, DaemonRecords.Process> recorded = new HashMap<>(records.recorded());
        for (var entry : byKey.entrySet()) {
            if (daemons.containsKey(entry.getKey())) continue;
            Daemon d = new Daemon(entry.getKey(), entry.getValue());
            daemons.put(d.key, d);
            DaemonRecords.Process old = recorded.remove(d.key);
            if (old != null && adopt(d, old)) continue;
            if (old != null) records.ended(d.key);
            start(d);
        }
        // Recorded by an earlier emperor for lines no longer in the file: stop them too.
        for (var entry : recorded.entrySet()) {
            if (daemons.containsKey(entry.getKey())) continue;
            Daemon d = new Daemon(entry.getKey(), DaemonSpec.parse(entry.getKey().replaceFirst(" #\\d+$", "")));
            if (adopt(d, entry.getValue())) retire(d, "its line is no longer in the vassal file");
            else records.ended(entry.getKey());
        }
    }

    /**
     * The tenant is stopping: SIGTERM to every daemon, none restarts. They die with the
     * tenant's pid namespace and cgroup in any case.
     */
    public synchronized void stop() {
        stopped = true;
        for (Daemon d : daemons.values()) {
            if (d.retry != null) d.retry.cancel();
            d.retryAt = null;
            if (d.running != null) d.running.signal(SIGTERM);
        }
    }

    /** The tenant has exited: its daemons went with it, and so do their records. */
    public synchronized void tenantGone() {
        stop();
        records.clear();
    }

    public synchronized List<DaemonStatus> status() {
        List<DaemonStatus> list = new ArrayList<>();
        Instant now = clock.instant();
        int index = 1;
        for (Daemon d : daemons.values()) {
            list.add(new DaemonStatus(index++, d.spec.line(), d.running == null ? 0 : d.running.pid(),
                    d.running == null ? 0 : Duration.between(d.startedAt, now).toSeconds(), d.restarts, d.lastExit,
                    d.retryAt == null ? 0 : Math.max(0, Duration.between(now, d.retryAt).toSeconds())));
        }
        return list;
    }

    // ---- steps -------------------------------------------------------------------------------

    /** Keys are lines; the n-th repeat of an identical line is "LINE #n" (n from 2). */
    private static Map<String, DaemonSpec> keyed(List<DaemonSpec> specs) {
        Map<String, DaemonSpec> byKey = new LinkedHashMap<>();
        Map<String, Integer> seen = new HashMap<>();
        for (DaemonSpec spec : specs) {
            int n = seen.merge(spec.line(), 1, Integer::sum);
            byKey.put(n == 1 ? spec.line() : spec.line() + " #" + n, spec);
        }
        return byKey;
    }

    private boolean adopt(Daemon d, DaemonRecords.Process old) {
        Optional<TenantCommands.Running> live = commands.adopt(old.pid(), old.startTime(), status -> exited(d, status));
        if (live.isEmpty()) return false;
        d.running = live.get();
        d.startedAt = clock.instant();
        events.event("daemon: re-adopted '" + d.spec.line() + "' (pid " + old.pid() + ")");
        return true;
    }

    private void start(Daemon d) {
        d.retryAt = null;
        d.retry = null;
        try {
            TenantCommands.Running started = commands.start(d.spec.argv(), status -> exited(d, status));
            d.running = started;
            d.startedAt = clock.instant();
            records.started(d.key, started.pid(), started.startTime());
            events.note("daemon: started '" + d.spec.line() + "' (pid " + started.pid() + ")");
        } catch (RuntimeException e) {
            d.lastExit = "could not start: " + e.getMessage();
            events.event("daemon: '" + d.spec.line() + "' could not start: " + e.getMessage());
            events.note("daemon: '" + d.spec.line() + "' could not start: " + e.getMessage());
            retryLater(d, d.backoff.onFailure());
        }
    }

    private synchronized void exited(Daemon d, ExitStatus status) {
        if (d.running == null) return;
        Duration ranFor = Duration.between(d.startedAt, clock.instant());
        d.running = null;
        d.lastExit = status.describe();
        records.ended(d.key);
        if (stopped || d.retired) return;
        d.restarts++;
        Duration delay = d.backoff.onExit(ranFor);
        events.event("daemon: '" + d.spec.line() + "' exited (" + d.lastExit + ") after " + ranFor.toSeconds()
                + "s; restart in " + delay.toSeconds() + "s");
        events.note("daemon: '" + d.spec.line() + "' " + d.lastExit + "; restart in " + delay.toSeconds() + "s");
        if (delay.isZero()) start(d);
        else retryLater(d, delay);
    }

    private void retryLater(Daemon d, Duration delay) {
        d.retryAt = clock.instant().plus(delay);
        d.retry = timer.after(delay, () -> retryDue(d));
    }

    private synchronized void retryDue(Daemon d) {
        if (stopped || d.retired || d.running != null || daemons.get(d.key) != d) return;
        start(d);
    }

    private void retire(Daemon d, String why) {
        d.retired = true;
        if (d.retry != null) d.retry.cancel();
        if (d.running == null) return;
        TenantCommands.Running target = d.running;
        events.event("daemon: stopping '" + d.spec.line() + "' (pid " + target.pid() + "): " + why);
        target.signal(SIGTERM);
        timer.after(grace, () -> {
            synchronized (this) {
                if (d.running == target) target.signal(SIGKILL);
            }
        });
    }
}
