package dev.emperor.fleet.safety;

import java.time.Duration;

/**
 * How long this node's etcd lease is certainly alive, from the node's own monotonic clock.
 *
 * <p>etcd sets a lease's expiry to (its now + TTL) when it handles a keep-alive. It handles it
 * after the node sent it, so the lease lives at least until (send time + TTL) in real time,
 * whatever the network delay. The node therefore notes when it <em>sent</em> each keep-alive
 * and, on the answer, moves {@link #validUntilNanos()} to that send time + the TTL the answer
 * grants. An answer that arrives late only shortens what the node believes, never lengthens
 * it. (etcd's leader changes extend leases; that too can only make the real expiry later.)
 */
public final class LeaseClock {
    private long validUntilNanos;
    private boolean granted;

    /** The lease was granted (or kept alive) by a request sent at {@code sentAtNanos}, for {@code ttl}. */
    public void confirmed(long sentAtNanos, Duration ttl) {
        long until = sentAtNanos + ttl.toNanos();
        if (!granted || until - validUntilNanos > 0) validUntilNanos = until;
        granted = true;
    }

    /** Whether any grant or keep-alive was ever confirmed. */
    public boolean granted() {
        return granted;
    }

    /** The lease is alive in etcd at least until this instant (System.nanoTime scale). */
    public long validUntilNanos() {
        if (!granted) throw new IllegalStateException("no lease confirmed yet");
        return validUntilNanos;
    }

    /** What is left of the certain lifetime at {@code nowNanos} (negative once past). */
    public Duration remaining(long nowNanos) {
        return granted ? Duration.ofNanos(validUntilNanos - nowNanos) : Duration.ZERO;
    }
}
