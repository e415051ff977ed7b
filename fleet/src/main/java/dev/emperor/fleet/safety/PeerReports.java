package dev.emperor.fleet.safety;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * What this node last heard from each fleet member when it probed it: that member's
 * {@link EtcdContact}. A report counts only while it is fresh: the probe was <em>sent</em>
 * within {@code freshness} (the answer describes the peer at some moment after the send, so
 * timing from the send is the safe side, as for the lease).
 */
public final class PeerReports {
    private record Report(long probeSentAtNanos, EtcdContact contact) {}

    private final Duration freshness;
    private final Map<String, Report> latest = new HashMap<>();

    public PeerReports(Duration freshness) {
        this.freshness = freshness;
    }

    /** {@code peer} answered a probe sent at {@code probeSentAtNanos} with its contact. */
    public void answered(String peer, long probeSentAtNanos, EtcdContact contact) {
        Report old = latest.get(peer);
        if (old == null || probeSentAtNanos - old.probeSentAtNanos >= 0) latest.put(peer, new Report(probeSentAtNanos, contact));
    }

    /** How many of {@code members} other than {@code self} gave a fresh report of {@code contact}. */
    public int fresh(Set<String> members, String self, EtcdContact contact, long nowNanos) {
        int count = 0;
        for (String member : members) {
            if (member.equals(self)) continue;
            Report r = latest.get(member);
            if (r != null && r.contact == contact && nowNanos - r.probeSentAtNanos <= freshness.toNanos()) count++;
        }
        return count;
    }

    /** Whether {@code self}, in {@code selfContact}, and fresh reports make a majority of {@code members} in {@code contact}. */
    public boolean majority(Set<String> members, String self, EtcdContact selfContact, EtcdContact contact, long nowNanos) {
        if (!members.contains(self) || selfContact != contact) return false;
        return 2 * (1 + fresh(members, self, contact, nowNanos)) > members.size();
    }
}
