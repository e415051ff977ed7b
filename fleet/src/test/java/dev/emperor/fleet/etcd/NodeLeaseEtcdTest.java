package dev.emperor.fleet.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.fleet.safety.EtcdContact;
import dev.emperor.fleet.safety.FleetTiming;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.watch.WatchEvent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The node lease against a real 3-member etcd cluster, cut off through relays and stopped whole. */
class NodeLeaseEtcdTest {
    private static final FleetTiming TIMING = FleetTiming.forLease(Duration.ofSeconds(4), Duration.ofSeconds(1));

    private EtcdCluster cluster;
    private final List<CuttableTcpRelay> relays = new ArrayList<>();
    private Client nodeClient;
    private Client observer;

    @BeforeEach
    void startCluster() throws Exception {
        cluster = EtcdCluster.start(Path.of("target", "etcd-" + System.nanoTime()), 3);
        for (int port : cluster.clientPorts()) relays.add(new CuttableTcpRelay(port));
        nodeClient = Client.builder().endpoints(relays.stream().map(CuttableTcpRelay::endpoint).toArray(String[]::new)).build();
        observer = Client.builder().endpoints(cluster.endpoints().toArray(String[]::new)).build();
    }

    @AfterEach
    void stopCluster() throws Exception {
        if (nodeClient != null) nodeClient.close();
        if (observer != null) observer.close();
        for (CuttableTcpRelay relay : relays) relay.close();
        if (cluster != null) cluster.close();
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    @Test
    void aNodeCutOffBelievesItsLeaseNoLongerThanEtcdKeepsIt() throws Exception {
        NodeLease lease = NodeLease.grant(nodeClient.getLeaseClient(), TIMING);
        nodeClient.getKVClient().put(bytes("/emperor/test/nodes/n1"), bytes("{}"),
                PutOption.builder().withLeaseId(lease.id()).build()).get(5, TimeUnit.SECONDS);
        CompletableFuture<Long> deletedSeenAt = new CompletableFuture<>();
        observer.getWatchClient().watch(bytes("/emperor/test/nodes/n1"), response -> response.getEvents().forEach(e -> {
            if (e.getEventType() == WatchEvent.EventType.DELETE) deletedSeenAt.complete(System.nanoTime());
        }));
        waitFor("the lease to be kept alive", () -> lease.contact() == EtcdContact.REACHABLE
                && lease.remaining().compareTo(TIMING.leaseTtl().minus(TIMING.keepAliveEvery().multipliedBy(2))) > 0);

        relays.forEach(CuttableTcpRelay::cut);
        long deleted = deletedSeenAt.get(30, TimeUnit.SECONDS);

        assertThat(lease.validUntilNanos()).as("the node's certain expiry is before etcd deleted its key")
                .isLessThanOrEqualTo(deleted);
        assertThat(lease.contact()).isEqualTo(EtcdContact.UNREACHABLE);
        lease.close();
    }

    @Test
    void anExpiredLeaseIsReportedLostWhenTheNodeReachesEtcdAgain() throws Exception {
        NodeLease lease = NodeLease.grant(nodeClient.getLeaseClient(), TIMING);
        relays.forEach(CuttableTcpRelay::cut);
        long id = lease.id();
        waitFor("etcd to expire the lease", () -> {
            try {
                return observer.getLeaseClient().timeToLive(id, io.etcd.jetcd.options.LeaseOption.DEFAULT)
                        .get(5, TimeUnit.SECONDS).getTTL() < 0;
            } catch (Exception e) {
                return false;
            }
        });
        relays.forEach(CuttableTcpRelay::heal);
        waitFor("the node to learn its lease is gone", () -> lease.state() == NodeLease.State.LOST);
        assertThat(lease.remaining()).isEqualTo(Duration.ZERO);
        lease.close();
    }

    @Test
    void aWholeClusterOutageLongerThanTheTtlLeavesTheLeaseAliveAfterwards() throws Exception {
        // what riding through an etcd outage relies on: etcd's new leader gives every lease its TTL again
        NodeLease lease = NodeLease.grant(nodeClient.getLeaseClient(), TIMING);
        waitFor("a keep-alive", () -> lease.contact() == EtcdContact.REACHABLE);
        cluster.stopAll();
        Thread.sleep(TIMING.leaseTtl().multipliedBy(3).toMillis());
        assertThat(lease.contact()).isEqualTo(EtcdContact.UNREACHABLE);
        assertThat(lease.remaining()).isNegative();
        cluster.startAll();
        waitFor("the lease to be kept alive again", () -> lease.contact() == EtcdContact.REACHABLE);
        assertThat(lease.state()).isEqualTo(NodeLease.State.HELD);
        assertThat(lease.remaining()).isPositive();
        lease.close();
    }

    private static void waitFor(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(50);
        }
    }
}
