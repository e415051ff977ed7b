package dev.emperor.supervisor.identity;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * How long a retired tenant (its vassal file removed) keeps its identity and data for its name:
 * {@code retain} (emperor.ini) from the time it was retired. Pure arithmetic on given times, so
 * its tests need no clock and no waiting.
 */
public final class Retention {
    /** Longest pause between two expiry checks: a retention of days needs no finer clock. */
    static final Duration MAX_CHECK_INTERVAL = Duration.ofMinutes(1);
    static final Duration MIN_CHECK_INTERVAL = Duration.ofSeconds(1);

    private Retention() {
    }

    /** When a tenant retired at {@code retiredAt} is purged. */
    public static Instant expiresAt(Instant retiredAt, Duration retain) {
        return retiredAt.plus(retain);
    }

    /** The retired tenants whose retention is over at {@code now}, oldest retirement first. */
    public static List<String> expired(Map<String, Instant> retired, Duration retain, Instant now) {
        List<String> due = new ArrayList<>();
        retired.entrySet().stream().sorted(Map.Entry.comparingByValue())
                .filter(e -> !expiresAt(e.getValue(), retain).isAfter(now))
                .forEach(e -> due.add(e.getKey()));
        return due;
    }

    /**
     * How long after a check at {@code now} the next one runs: at the next expiry still to come
     * if that is within a minute (at least a second on), else in a minute (a changed
     * {@code retain} is seen within that). Tenants already due at {@code now} were tried by the
     * check: one whose purge failed is tried again a minute later, never in a busy loop.
     */
    public static Duration nextCheck(Map<String, Instant> retired, Duration retain, Instant now) {
        Duration wait = MAX_CHECK_INTERVAL;
        for (Instant at : retired.values()) {
            Duration left = Duration.between(now, expiresAt(at, retain));
            if (!left.isNegative() && !left.isZero() && left.compareTo(wait) < 0) wait = left;
        }
        return wait.compareTo(MIN_CHECK_INTERVAL) < 0 ? MIN_CHECK_INTERVAL : wait;
    }

    /** "30 days", "1 day", "12h", "2s": retain as an operator wrote it. */
    public static String describe(Duration retain) {
        if (retain.isZero()) return "0 (purged once stopped)";
        if (retain.toDays() > 0 && retain.equals(Duration.ofDays(retain.toDays()))) {
            return retain.toDays() == 1 ? "1 day" : retain.toDays() + " days";
        }
        if (retain.toHours() > 0 && retain.equals(Duration.ofHours(retain.toHours()))) return retain.toHours() + "h";
        if (retain.toMinutes() > 0 && retain.equals(Duration.ofMinutes(retain.toMinutes()))) return retain.toMinutes() + "m";
        if (retain.equals(Duration.ofSeconds(retain.toSeconds()))) return retain.toSeconds() + "s";
        return retain.toMillis() + "ms";
    }

    /** An instant as shown in events and status: to the second. */
    public static String shown(Instant at) {
        return at.truncatedTo(ChronoUnit.SECONDS).toString();
    }
}
