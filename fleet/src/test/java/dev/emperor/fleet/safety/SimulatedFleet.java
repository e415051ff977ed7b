package dev.emperor.fleet.safety;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

/**
 * The world of {@link FleetSafetySimulationTest}, a model of the fleet's safety rules: nodes, an etcd that keeps leases as etcd does, a
 * leader, and random faults (etcd down, a node cut off from etcd, links between nodes cut, node
 * crashes), in simulated time. The decisions are the production classes ({@link LeaseClock},
 * {@link PeerReports}, {@link RunPermit}, {@link ReplaceGate}); only the world around them is
 * modelled. Every tenant's run intervals ([start, stop done]) on all nodes must never overlap.
 */
final class SimulatedFleet {
    static final long MS = 1_000_000L;
    static final long S = 1000 * MS;
    static final long STEP = 50 * MS;
    static final Duration TTL = Duration.ofSeconds(10);
    static final Duration STOP_TIME = Duration.ofSeconds(3);
    static final FleetTiming TIMING = FleetTiming.forLease(TTL, STOP_TIME);

    /** A run of a tenant on a node: from the start to the moment its stop completed. */
    record Interval(String node, long from, long to) {}

    /** etcd as far as leases go: expiry only while it has a leader; on a new leader, every lease gets its TTL again. */
    static final class Etcd {
        boolean up = true;
        long nextLeaseId = 1;
        final Map<Long, Long> leaseExpiry = new HashMap<>();
        final Map<String, Long> nodeLease = new HashMap<>(); // nodes/<node> key, attached to its lease
        final Map<String, String> placementNode = new HashMap<>();
        final Map<String, Long> placementLease = new HashMap<>();

        /** When each lease was deleted (the leader's watch sees it then). */
        final Map<Long, Long> goneAt = new HashMap<>();

        void tick(long now) {
            if (!up) return;
            leaseExpiry.entrySet().removeIf(e -> {
                if (now <= e.getValue()) return false;
                goneAt.put(e.getKey(), now);
                return true;
            });
            nodeLease.entrySet().removeIf(e -> !leaseExpiry.containsKey(e.getValue()));
        }

        void recover(long now) {
            up = true;
            leaseExpiry.replaceAll((id, expiry) -> Math.max(expiry, now + TTL.toNanos()));
        }

        boolean alive(long lease) {
            return leaseExpiry.containsKey(lease);
        }
    }

    final class Node {
        final String name;
        boolean crashed;
        long lease = -1;
        LeaseClock clock = new LeaseClock();
        boolean answeredEver;
        long lastAnswer;
        PeerReports peers = new PeerReports(TIMING.freshness());
        RunPermit permit;
        ReplaceGate gate;
        long nextKeepAlive;
        long nextProbe;
        /** The node's view of placements (from its etcd watch; stale while cut off). */
        final Map<String, String> viewNode = new HashMap<>();
        final Map<String, Long> viewLease = new HashMap<>();
        /** tenant -> start time, and tenants being stopped -> time the stop completes */
        final Map<String, Long> running = new TreeMap<>();
        final Map<String, Long> stopping = new TreeMap<>();

        Node(String name) {
            this.name = name;
            reset();
        }

        void reset() {
            lease = -1;
            clock = new LeaseClock();
            answeredEver = false;
            peers = new PeerReports(TIMING.freshness());
            permit = new RunPermit(name, TIMING);
            gate = new ReplaceGate(name, TIMING);
            viewNode.clear();
            viewLease.clear();
        }
    }

    final Random random;
    final Etcd etcd = new Etcd();
    final Map<String, Node> nodes = new TreeMap<>();
    final Set<String> members = new LinkedHashSet<>();
    final List<String> tenants = new ArrayList<>();
    final Map<String, Boolean> reachesEtcd = new HashMap<>();
    final Set<String> cutLinks = new java.util.HashSet<>();
    final Map<String, List<Interval>> intervals = new HashMap<>();
    /** Messages in flight: deliver at time -> action. */
    final TreeMap<Long, List<Runnable>> inFlight = new TreeMap<>();
    long now;

    SimulatedFleet(Random random) {
        this.random = random;
    }

    void setUp(int nodeCount, int tenantCount) {
        for (int i = 1; i <= nodeCount; i++) {
            String n = "n" + i;
            nodes.put(n, new Node(n));
            members.add(n);
            reachesEtcd.put(n, true);
        }
        for (int i = 0; i < tenantCount; i++) tenants.add("t" + i);
    }

    boolean linked(String a, String b) {
        return !cutLinks.contains(a + ">" + b) && !cutLinks.contains(b + ">" + a);
    }

    boolean etcdReachable(Node node) {
        return !node.crashed && etcd.up && reachesEtcd.get(node.name);
    }

    void send(long delay, Runnable action) {
        inFlight.computeIfAbsent(now + delay, k -> new ArrayList<>()).add(action);
    }

    long delay() {
        return random.nextInt(300) * MS;
    }

    void step() {
        now += STEP;
        while (!inFlight.isEmpty() && inFlight.firstKey() <= now) inFlight.pollFirstEntry().getValue().forEach(Runnable::run);
        etcd.tick(now);
        for (Node node : nodes.values()) {
            if (node.crashed) continue;
            keepAlive(node);
            probe(node);
            watch(node);
        }
        lead();
        for (Node node : nodes.values()) if (!node.crashed) act(node);
    }

    void keepAlive(Node node) {
        if (now < node.nextKeepAlive) return;
        node.nextKeepAlive = now + TIMING.keepAliveEvery().toNanos();
        long sentAt = now;
        if (!etcdReachable(node)) return;
        long lease = node.lease;
        send(delay(), () -> {
            if (!etcdReachable(node)) return; // lost on the way
            if (lease < 0 || !etcd.alive(lease)) {
                // the node's lease is gone: it registers again with a new one
                long fresh = etcd.nextLeaseId++;
                etcd.leaseExpiry.put(fresh, now + TTL.toNanos());
                etcd.nodeLease.put(node.name, fresh);
                send(delay(), () -> {
                    if (node.crashed || !reachesEtcd.get(node.name)) return;
                    node.lease = fresh;
                    node.clock = new LeaseClock();
                    node.clock.confirmed(sentAt, TTL);
                    node.answeredEver = true;
                    node.lastAnswer = now;
                });
                return;
            }
            etcd.leaseExpiry.put(lease, now + TTL.toNanos());
            etcd.nodeLease.put(node.name, lease);
            send(delay(), () -> {
                if (node.crashed || !reachesEtcd.get(node.name) || node.lease != lease) return;
                node.clock.confirmed(sentAt, TTL);
                node.answeredEver = true;
                node.lastAnswer = now;
            });
        });
    }

    void probe(Node node) {
        if (now < node.nextProbe) return;
        node.nextProbe = now + TIMING.probeEvery().toNanos();
        long sentAt = now;
        for (Node peer : nodes.values()) {
            if (peer == node || !linked(node.name, peer.name)) continue;
            send(delay(), () -> {
                if (peer.crashed || !linked(node.name, peer.name)) return;
                EtcdContact alive = contact(peer);
                send(delay(), () -> {
                    if (!node.crashed && linked(node.name, peer.name)) node.peers.answered(peer.name, sentAt, alive);
                });
            });
        }
    }

    void watch(Node node) {
        if (!etcdReachable(node)) return;
        node.viewNode.clear();
        node.viewNode.putAll(etcd.placementNode);
        node.viewLease.clear();
        node.viewLease.putAll(etcd.placementLease);
    }

    /** The leader: the first node (by name) that reaches etcd and whose lease etcd has. */
    void lead() {
        for (Node node : nodes.values()) {
            node.gate.observe(contact(node), node.peers, members, now);
        }
        if (!etcd.up) return;
        Node leader = nodes.values().stream().filter(n -> etcdReachable(n) && n.lease >= 0 && etcd.alive(n.lease))
                .findFirst().orElse(null);
        if (leader == null) return;
        for (String tenant : tenants) {
            Long placedLease = etcd.placementLease.get(tenant);
            boolean lost = placedLease != null && !etcd.alive(placedLease);
            if (placedLease != null && !lost) continue;
            if (lost && !leader.gate.mayReplace(etcd.goneAt.get(placedLease), now)) continue;
            // least-loaded node with a live lease
            Map<String, Integer> load = new HashMap<>();
            etcd.placementNode.forEach((t, n) -> load.merge(n, 1, Integer::sum));
            String target = etcd.nodeLease.keySet().stream().filter(n -> etcd.alive(etcd.nodeLease.get(n)))
                    .min((a, b) -> Integer.compare(load.getOrDefault(a, 0), load.getOrDefault(b, 0))).orElse(null);
            if (target == null) continue;
            etcd.placementNode.put(tenant, target);
            etcd.placementLease.put(tenant, etcd.nodeLease.get(target));
        }
    }

    EtcdContact contact(Node node) {
        return EtcdContact.of(TIMING, node.answeredEver, node.lastAnswer, now);
    }

    void act(Node node) {
        node.stopping.values().removeIf(done -> done <= now);
        RunPermit.Verdict verdict = node.permit.verdict(node.clock, contact(node), node.peers, members, now);
        for (String tenant : List.copyOf(node.running.keySet())) {
            boolean mine = node.name.equals(node.viewNode.get(tenant)) && node.viewLease.get(tenant) == node.lease;
            if (verdict == RunPermit.Verdict.STOP || (verdict == RunPermit.Verdict.RUN && !mine)) stop(node, tenant);
        }
        if (verdict != RunPermit.Verdict.RUN) return;
        for (String tenant : tenants) {
            boolean mine = node.name.equals(node.viewNode.get(tenant)) && node.viewLease.get(tenant) != null
                    && node.viewLease.get(tenant) == node.lease;
            if (mine && !node.running.containsKey(tenant) && !node.stopping.containsKey(tenant)) {
                node.running.put(tenant, now);
            }
        }
    }

    void stop(Node node, String tenant) {
        long from = node.running.remove(tenant);
        long done = now + 1 + (long) (random.nextDouble() * (STOP_TIME.toNanos() - STEP));
        node.stopping.put(tenant, done);
        intervals.computeIfAbsent(tenant, k -> new ArrayList<>()).add(new Interval(node.name, from, done));
    }

    void crash(Node node) {
        // kill -9 of the whole node: its tenants die at once (the fence kills them if only the emperor died)
        for (var e : node.running.entrySet()) {
            intervals.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(new Interval(node.name, e.getValue(), now));
        }
        // tenants being stopped are already recorded, with a later end than the crash: that covers them
        node.running.clear();
        node.stopping.clear();
        node.crashed = true;
    }

    void restart(Node node) {
        node.crashed = false;
        node.reset();
        node.nextKeepAlive = now;
    }

    void finish() {
        for (Node node : nodes.values()) {
            for (var e : node.running.entrySet()) {
                intervals.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(new Interval(node.name, e.getValue(), now));
            }
        }
    }

    void assertNoTenantRanTwice(String scenario) {
        for (var e : intervals.entrySet()) {
            List<Interval> runs = new ArrayList<>(e.getValue());
            runs.sort((a, b) -> Long.compare(a.from, b.from));
            for (int i = 1; i < runs.size(); i++) {
                Interval before = runs.get(i - 1);
                Interval after = runs.get(i);
                assertThat(after.from).as("%s: tenant %s ran on %s until %d ms and on %s from %d ms", scenario,
                        e.getKey(), before.node, before.to / MS, after.node, after.from / MS).isGreaterThan(before.to);
            }
        }
    }

    void runFor(long duration) {
        long end = now + duration;
        while (now < end) step();
    }

    int runningTenants() {
        return nodes.values().stream().mapToInt(n -> n.running.size()).sum();
    }

    void randomFault() {
        List<Node> all = new ArrayList<>(nodes.values());
        Node node = all.get(random.nextInt(all.size()));
        switch (random.nextInt(6)) {
            case 0 -> {
                if (etcd.up) etcd.up = false;
                else etcd.recover(now);
            }
            case 1 -> reachesEtcd.put(node.name, !reachesEtcd.get(node.name));
            case 2 -> {
                Node other = all.get(random.nextInt(all.size()));
                if (other != node) {
                    String link = node.name + ">" + other.name;
                    if (!cutLinks.remove(link)) cutLinks.add(link);
                }
            }
            case 3 -> {
                // isolate a node completely, or heal it
                boolean isolate = reachesEtcd.get(node.name);
                reachesEtcd.put(node.name, !isolate);
                for (Node other : all) {
                    if (other == node) continue;
                    if (isolate) cutLinks.add(node.name + ">" + other.name);
                    else {
                        cutLinks.remove(node.name + ">" + other.name);
                        cutLinks.remove(other.name + ">" + node.name);
                    }
                }
            }
            case 4 -> {
                if (node.crashed) restart(node);
                else crash(node);
            }
            default -> {
                // heal everything
                if (!etcd.up) etcd.recover(now);
                reachesEtcd.replaceAll((k, v) -> true);
                cutLinks.clear();
            }
        }
    }
}
