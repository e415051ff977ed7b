package dev.emperor.supervisor.services;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** A clock and a timer that move only when the test says so, running due tasks in time order. */
final class ManualTime implements InstantSource, TaskTimer {
    private Instant now;
    private long sequence;
    private final List<Task> tasks = new ArrayList<>();

    private final class Task implements Pending {
        final Instant at;
        final long order = sequence++;
        final Runnable run;
        boolean cancelled;

        Task(Instant at, Runnable run) {
            this.at = at;
            this.run = run;
        }

        @Override
        public void cancel() {
            cancelled = true;
        }
    }

    ManualTime(Instant start) {
        this.now = start;
    }

    @Override
    public Instant instant() {
        return now;
    }

    @Override
    public Pending after(Duration delay, Runnable task) {
        Task t = new Task(now.plus(delay), task);
        tasks.add(t);
        return t;
    }

    /** Moves the clock forward, running every task that falls due on the way, at its time. */
    void advance(Duration d) {
        Instant end = now.plus(d);
        while (true) {
            Task next = tasks.stream().filter(t -> !t.cancelled && !t.at.isAfter(end))
                    .min(Comparator.comparing((Task t) -> t.at).thenComparingLong(t -> t.order)).orElse(null);
            if (next == null) break;
            tasks.remove(next);
            if (next.at.isAfter(now)) now = next.at;
            next.run.run();
        }
        now = end;
    }

    /** Jumps the clock without running anything (a suspended host, a clock step). */
    void jump(Duration d) {
        now = now.plus(d);
    }

    long pendingTasks() {
        return tasks.stream().filter(t -> !t.cancelled).count();
    }
}
