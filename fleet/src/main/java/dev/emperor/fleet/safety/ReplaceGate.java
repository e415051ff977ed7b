package dev.emperor.fleet.safety;

import java.util.Set;

/**
 * The leader's side: may it place a lost node's tenants elsewhere now?
 *
 * <p>Only when (1) the lost node's lease has been gone for longer than a stop takes plus the
 * margin, so a node that simply lost etcd has stopped everything (it stops by its lease's
 * certain expiry + stopTime); and (2) the leader has seen, without a break for
 * {@link FleetTiming#majorityHold()}, itself and a majority of the fleet's members reporting etcd
 * reachable. (2) is what makes riding through an etcd outage safe: a riding node leans on a
 * majority reporting etcd unreachable; that majority and the leader's share a member. That
 * member's "reachable" and "unreachable" are never both fresh (the thresholds are further apart
 * than the freshness), so if it turned reachable, its "unreachable" goes stale within the
 * freshness and the riding node stops within stopTime: the hold covers both.
 */
public final class ReplaceGate {
    private final String self;
    private final FleetTiming timing;
    private boolean majority;
    private long majoritySinceNanos;

    public ReplaceGate(String self, FleetTiming timing) {
        this.self = self;
        this.timing = timing;
    }

    /** Re-evaluates the leader's majority; call on every tick and on every peer report. */
    public void observe(EtcdContact own, PeerReports peers, Set<String> members, long nowNanos) {
        boolean now = peers.majority(members, self, own, EtcdContact.REACHABLE, nowNanos);
        if (now && !majority) majoritySinceNanos = nowNanos;
        majority = now;
    }

    /** Whether the tenants of a node whose lease the leader saw gone at {@code leaseGoneAtNanos} may start elsewhere. */
    public boolean mayReplace(long leaseGoneAtNanos, long nowNanos) {
        return majority && nowNanos - majoritySinceNanos >= timing.majorityHold().toNanos()
                && nowNanos - leaseGoneAtNanos >= timing.replaceAfterLeaseGone().toNanos();
    }
}
