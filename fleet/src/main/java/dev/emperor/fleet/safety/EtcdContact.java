package dev.emperor.fleet.safety;

/**
 * What a node reports about its own contact with etcd, from the age of its last keep-alive
 * answer. {@link #UNSURE} lies between the two thresholds and counts for no side.
 */
public enum EtcdContact {
    REACHABLE, UNSURE, UNREACHABLE;

    /** The contact given the last answer's arrival ({@code lastAnswerNanos}, or none yet). */
    public static EtcdContact of(FleetTiming timing, boolean answeredEver, long lastAnswerNanos, long nowNanos) {
        if (!answeredEver) return UNREACHABLE;
        long age = nowNanos - lastAnswerNanos;
        if (age < timing.reachableWithin().toNanos()) return REACHABLE;
        if (age >= timing.unreachableAfter().toNanos()) return UNREACHABLE;
        return UNSURE;
    }
}
