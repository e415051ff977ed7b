package dev.emperor.supervisor.services;

import java.time.Duration;

/**
 * Runs a task later. The emperor's timers deliver tasks to the tenant's mailbox, so a
 * tenant's cron and daemon bookkeeping runs one step at a time; tests drive a manual one and
 * never wait.
 */
public interface TaskTimer {
    /** A task not run yet; cancelling a task that already ran does nothing. */
    interface Pending {
        void cancel();
    }

    Pending after(Duration delay, Runnable task);
}
