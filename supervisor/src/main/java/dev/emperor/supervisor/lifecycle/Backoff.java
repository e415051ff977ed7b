package dev.emperor.supervisor.lifecycle;

import java.time.Duration;

/**
 * Per-tenant exponential back-off for respawns. A payload that ran for at least
 * {@code stableAfter} is considered healthy: its next crash restarts at once. Each quick crash
 * after that doubles the delay, from one second up to {@code max}. Each tenant has its own
 * instance, so one crash-looping tenant never delays another.
 */
public final class Backoff {
    private static final Duration FIRST = Duration.ofSeconds(1);
    private final Duration max;
    private final Duration stableAfter;
    private int quickFailures;

    public Backoff(Duration max, Duration stableAfter) {
        this.max = max;
        this.stableAfter = stableAfter;
    }

    /** Records an exit after running for {@code ranFor}; returns how long to wait before respawning. */
    public Duration onExit(Duration ranFor) {
        if (ranLongEnough(ranFor)) {
            quickFailures = 0;
            return Duration.ZERO;
        }
        return onFailure();
    }

    /** Whether a payload that ran this long was healthy: its exit restarts it at once (see {@link #onExit}). */
    public boolean ranLongEnough(Duration ranFor) {
        return ranFor.compareTo(stableAfter) >= 0;
    }

    /** Records a failure to start at all; returns the delay before the next attempt. */
    public Duration onFailure() {
        quickFailures++;
        long shift = Math.min(quickFailures - 1, 30);
        Duration delay = FIRST.multipliedBy(1L << shift);
        return delay.compareTo(max) > 0 ? max : delay;
    }

    /** An operator's explicit start forgets past failures. */
    public void reset() {
        quickFailures = 0;
    }

    public int quickFailures() {
        return quickFailures;
    }
}
