package dev.emperor.fleet.safety;

import java.util.Set;

/**
 * May this node run its placed tenants now? Asked on every tick and whenever its lease or a
 * peer report changes.
 *
 * <ul>
 *   <li>{@link Verdict#RUN}: the lease is certainly alive for longer than the margin. The node
 *       runs what is placed on it under this lease and may start new tenants.
 *   <li>{@link Verdict#RIDE_THROUGH}: the lease is no longer certain, but this node and a
 *       majority of the fleet's members report etcd unreachable: etcd itself is out, and no
 *       leader can be re-placing tenants (see {@link ReplaceGate}). Stopping would only turn an
 *       etcd outage into a hosting outage, so the node keeps what runs and starts nothing.
 *   <li>{@link Verdict#STOP}: neither. The node stops every tenant now and for good (until RUN
 *       again); the stop ends within {@code stopTime} of the lease's certain expiry, and the
 *       leader waits longer than that after the lease is gone.
 * </ul>
 */
public final class RunPermit {
    public enum Verdict { RUN, RIDE_THROUGH, STOP }

    private final String self;
    private final FleetTiming timing;

    public RunPermit(String self, FleetTiming timing) {
        this.self = self;
        this.timing = timing;
    }

    public Verdict verdict(LeaseClock lease, EtcdContact contact, PeerReports peers, Set<String> members, long nowNanos) {
        if (lease.granted() && lease.remaining(nowNanos).compareTo(timing.margin()) > 0) return Verdict.RUN;
        if (peers.majority(members, self, contact, EtcdContact.UNREACHABLE, nowNanos)) return Verdict.RIDE_THROUGH;
        return Verdict.STOP;
    }
}
