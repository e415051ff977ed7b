package dev.emperor.fleet.safety;

import java.time.Duration;

/**
 * The durations the safety rules depend on, checked against each other once.
 *
 * @param leaseTtl the node lease's TTL ({@code fleet-lease-ttl})
 * @param keepAliveEvery how often the node sends a keep-alive
 * @param probeEvery how often the node probes each peer
 * @param freshness how long a peer's answer counts (timed from the probe's send)
 * @param reachableWithin etcd counts as reachable while the last keep-alive answer is younger
 * @param unreachableAfter etcd counts as unreachable once the last answer is at least this old;
 *     between the two it is neither. The gap is wider than {@code freshness}, so a peer's
 *     "reachable" and its later "unreachable" are never both fresh at once.
 * @param stopTime how long stopping every tenant can take (stop-grace, then SIGKILL and reaping)
 * @param margin covers clock-rate differences and scheduling delays
 */
public record FleetTiming(Duration leaseTtl, Duration keepAliveEvery, Duration probeEvery, Duration freshness,
        Duration reachableWithin, Duration unreachableAfter, Duration stopTime, Duration margin) {
    public FleetTiming {
        require(keepAliveEvery.compareTo(reachableWithin) < 0, "keep-alives must come more often than reachableWithin");
        require(probeEvery.compareTo(freshness) < 0, "probes must come more often than their freshness");
        require(unreachableAfter.compareTo(reachableWithin.plus(freshness)) > 0,
                "unreachableAfter must exceed reachableWithin + freshness");
        require(leaseTtl.compareTo(unreachableAfter.plus(freshness).plus(keepAliveEvery).plus(margin)) > 0,
                "the lease TTL must leave time to see an etcd outage before the lease runs out");
    }

    /** Defaults for a lease TTL and a stop time (stop-grace + 2 s to kill and reap). */
    public static FleetTiming forLease(Duration leaseTtl, Duration stopTime) {
        Duration keepAlive = leaseTtl.dividedBy(10);
        Duration probe = leaseTtl.dividedBy(20);
        Duration freshness = leaseTtl.dividedBy(5);
        Duration reachable = keepAlive.multipliedBy(2);
        return new FleetTiming(leaseTtl, keepAlive, probe, freshness, reachable,
                reachable.plus(freshness).plus(probe), stopTime, leaseTtl.dividedBy(10));
    }

    /** How long after a node's lease is gone the leader waits before its tenants may start elsewhere. */
    public Duration replaceAfterLeaseGone() {
        return stopTime.plus(margin);
    }

    /** How long the leader must have seen its majority, without a break, before it re-places anything. */
    public Duration majorityHold() {
        return freshness.plus(stopTime).plus(margin);
    }

    private static void require(boolean condition, String message) {
        if (!condition) throw new IllegalArgumentException(message);
    }
}
