package dev.emperor.supervisor.services;

import dev.emperor.jail.ExitStatus;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Runs one tenant's cron jobs at their times, as long as the tenant runs. Time comes from an
 * {@link InstantSource} and waiting from a {@link TaskTimer}, so tests move a fake clock
 * instead of waiting for minutes.
 *
 * <p>Rules: a job still running when its next time comes is not started again (the slot is
 * skipped and reported); a run longer than the time limit gets SIGTERM to its process group,
 * then SIGKILL after the grace period; slots missed while the emperor was busy or the host
 * slept are not caught up (the job resumes at its next time).
 *
 * <p>Timer tasks and exit notifications must arrive one at a time (the tenant's mailbox);
 * {@link #status()} may be called from any thread.
 */
public final class CronScheduler {
    private static final int SIGTERM = 15;
    private static final int SIGKILL = 9;

    private final ZoneId zone;
    private final InstantSource clock;
    private final TaskTimer timer;
    private final TenantCommands commands;
    private Duration timeLimit;
    private final Duration grace;
    private final ServiceEvents events;
    /** By line: an unchanged line keeps its state (and its running instance) across a file change. */
    private final Map<String, Job> jobs = new LinkedHashMap<>();
    private boolean stopped;

    private final class Job {
        final CronJob spec;
        Instant nextAt;
        TaskTimer.Pending wake;
        TenantCommands.Running running;
        Instant runningSince;
        TaskTimer.Pending limit;
        int runs;
        int skipped;
        String lastResult;
        boolean removed;

        Job(CronJob spec) {
            this.spec = spec;
        }
    }

    public CronScheduler(ZoneId zone, InstantSource clock, TaskTimer timer, TenantCommands commands,
            Duration timeLimit, Duration grace, ServiceEvents events) {
        this.zone = zone;
        this.clock = clock;
        this.timer = timer;
        this.commands = commands;
        this.timeLimit = timeLimit;
        this.grace = grace;
        this.events = events;
    }

    /**
     * Sets the tenant's jobs: lines seen before keep their schedule state and running
     * instance; new lines are armed; removed lines stop being scheduled (a run in progress
     * finishes, still under its time limit).
     */
    public synchronized void setJobs(List<CronJob> wanted) {
        if (stopped) return;
        Map<String, CronJob> byLine = new LinkedHashMap<>();
        for (CronJob job : wanted) byLine.putIfAbsent(job.line(), job);
        for (var it = jobs.entrySet().iterator(); it.hasNext(); ) {
            Job job = it.next().getValue();
            if (!byLine.containsKey(job.spec.line())) {
                job.removed = true;
                if (job.wake != null) job.wake.cancel();
                it.remove();
            }
        }
        for (CronJob spec : byLine.values()) {
            if (jobs.containsKey(spec.line())) continue;
            Job job = new Job(spec);
            jobs.put(spec.line(), job);
            arm(job, clock.instant());
        }
    }

    /** The time limit of runs started from now on. */
    public synchronized void setTimeLimit(Duration limit) {
        timeLimit = limit;
    }

    /** The tenant is stopping: nothing new starts; runs in progress end with the tenant. */
    public synchronized void stop() {
        stopped = true;
        for (Job job : jobs.values()) {
            if (job.wake != null) job.wake.cancel();
            job.nextAt = null;
        }
    }

    public synchronized List<CronJobStatus> status() {
        List<CronJobStatus> list = new ArrayList<>();
        for (Job job : jobs.values()) {
            list.add(new CronJobStatus(job.spec.line(), job.nextAt == null ? null : job.nextAt.toString(),
                    job.running == null ? 0 : job.running.pid(), job.runs, job.skipped, job.lastResult));
        }
        return list;
    }

    // ---- timer tasks -------------------------------------------------------------------------

    /** Waits for the job's first time strictly after {@code after}. */
    private void arm(Job job, Instant after) {
        Optional<Instant> next = job.spec.schedule().next(after, zone);
        job.nextAt = next.orElse(null);
        if (next.isEmpty()) return;
        Instant slot = next.get();
        job.wake = timer.after(positive(Duration.between(clock.instant(), slot)), () -> due(job, slot));
    }

    private synchronized void due(Job job, Instant slot) {
        if (stopped || job.removed) return;
        Instant now = clock.instant();
        if (now.isBefore(slot)) { // woke early (timers are not exact): wait for the rest
            job.wake = timer.after(Duration.between(now, slot), () -> due(job, slot));
            return;
        }
        if (job.running != null) {
            job.skipped++;
            events.event("cron: skipped '" + job.spec.line() + "' at " + slot + ": the run started "
                    + job.runningSince + " (pid " + job.running.pid() + ") is still going");
            events.note("cron: skipped '" + job.spec.line() + "': previous run (pid " + job.running.pid()
                    + ") still going");
        } else {
            run(job);
        }
        // Late by a whole period or more (suspend, clock jump): resume from now, no catch-up.
        Instant following = job.spec.schedule().next(slot, zone).orElse(null);
        arm(job, following != null && !following.isAfter(now) ? now : slot);
    }

    private void run(Job job) {
        TenantCommands.Running started;
        try {
            started = commands.start(job.spec.argv(), status -> exited(job, status));
        } catch (RuntimeException e) {
            job.lastResult = "could not start: " + e.getMessage();
            events.event("cron: '" + job.spec.line() + "' could not start: " + e.getMessage());
            events.note("cron: '" + job.spec.line() + "' could not start: " + e.getMessage());
            return;
        }
        job.running = started;
        job.runningSince = clock.instant();
        job.runs++;
        events.note("cron: started '" + job.spec.line() + "' (pid " + started.pid() + ")");
        TenantCommands.Running target = started;
        job.limit = timer.after(timeLimit, () -> overTime(job, target));
    }

    private synchronized void overTime(Job job, TenantCommands.Running target) {
        if (job.running != target) return;
        events.event("cron: '" + job.spec.line() + "' (pid " + target.pid() + ") ran longer than " + timeLimit
                + ": SIGTERM to its process group");
        events.note("cron: '" + job.spec.line() + "' (pid " + target.pid() + ") over its time limit of "
                + timeLimit.toSeconds() + "s: terminating");
        target.signal(SIGTERM);
        job.limit = timer.after(grace, () -> stillRunning(job, target));
    }

    private synchronized void stillRunning(Job job, TenantCommands.Running target) {
        if (job.running != target) return;
        events.event("cron: '" + job.spec.line() + "' (pid " + target.pid() + ") still running " + grace
                + " after SIGTERM: SIGKILL to its process group");
        target.signal(SIGKILL);
    }

    private synchronized void exited(Job job, ExitStatus status) {
        if (job.limit != null) job.limit.cancel();
        job.limit = null;
        job.running = null;
        job.lastResult = status.describe();
        boolean ok = status.known() && status.signal() == 0 && status.code() == 0;
        events.note("cron: '" + job.spec.line() + "' ended: " + job.lastResult);
        if (!ok) events.event("cron: '" + job.spec.line() + "' ended: " + job.lastResult);
    }

    private static Duration positive(Duration d) {
        return d.isNegative() ? Duration.ZERO : d;
    }
}
