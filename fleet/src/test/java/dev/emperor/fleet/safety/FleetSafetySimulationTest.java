package dev.emperor.fleet.safety;

import static dev.emperor.fleet.safety.SimulatedFleet.S;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A model test of the fleet's safety rules: nodes, an etcd that keeps leases as etcd does, a
 * leader, and random faults (etcd down, a node cut off from etcd, links between nodes cut, node
 * crashes), in simulated time ({@link SimulatedFleet}). The decisions are the production classes
 * ({@link LeaseClock}, {@link PeerReports}, {@link RunPermit}, {@link ReplaceGate}); only the world
 * around them is modelled. Every tenant's run intervals ([start, stop done]) on all nodes must
 * never overlap.
 */
class FleetSafetySimulationTest {
    @Test
    void noTenantEverRunsOnTwoNodesAtOnceUnderRandomFaults() {
        for (int seed = 0; seed < 60; seed++) {
            SimulatedFleet world = new SimulatedFleet(new Random(seed));
            world.setUp(3 + 2 * (seed % 2), 12);
            world.runFor(20 * S);
            for (int round = 0; round < 40; round++) {
                world.randomFault();
                world.runFor((2 + world.random.nextInt(25)) * S);
            }
            world.finish();
            world.assertNoTenantRanTwice("seed " + seed);
        }
    }

    @Test
    void aWholeEtcdOutageStopsNoTenantAndPlacementResumesAfter() {
        SimulatedFleet w = new SimulatedFleet(new Random(7));
        w.setUp(3, 9);
        w.runFor(20 * S);
        assertThat(w.runningTenants()).isEqualTo(9);
        w.etcd.up = false;
        long outageEnd = w.now + 60 * S;
        while (w.now < outageEnd) {
            w.step();
            assertThat(w.runningTenants()).as("tenants running %d s into the outage", (w.now - outageEnd + 60 * S) / S)
                    .isEqualTo(9);
        }
        w.etcd.recover(w.now);
        w.tenants.add("late");
        w.runFor(10 * S);
        assertThat(w.runningTenants()).isEqualTo(10);
        w.finish();
        w.assertNoTenantRanTwice("outage");
    }

    @Test
    void aNodeCutOffFromEverythingStopsItsTenantsBeforeTheyStartElsewhere() {
        SimulatedFleet w = new SimulatedFleet(new Random(7));
        w.setUp(3, 9);
        w.runFor(20 * S);
        SimulatedFleet.Node cut = w.nodes.get("n2");
        int itsTenants = cut.running.size();
        assertThat(itsTenants).isPositive();
        w.reachesEtcd.put("n2", false);
        w.cutLinks.add("n2>n1");
        w.cutLinks.add("n2>n3");
        w.runFor(40 * S);
        assertThat(cut.running).as("tenants still running on the cut-off node").isEmpty();
        assertThat(w.runningTenants()).as("all tenants run again on the others").isEqualTo(9);
        w.finish();
        w.assertNoTenantRanTwice("cut off");
    }

    @Test
    void aNodeCutOffFromEtcdButNotFromItsPeersStopsToo() {
        // its peers still see etcd, so it cannot claim an etcd outage
        SimulatedFleet w = new SimulatedFleet(new Random(7));
        w.setUp(3, 9);
        w.runFor(20 * S);
        w.reachesEtcd.put("n3", false);
        w.runFor(40 * S);
        assertThat(w.nodes.get("n3").running).isEmpty();
        assertThat(w.runningTenants()).isEqualTo(9);
        w.finish();
        w.assertNoTenantRanTwice("cut from etcd only");
    }

    @Test
    void aMinorityThatStillReachesEtcdReplacesNothingOfTheRidingMajority() {
        // n1 keeps etcd; n2 and n3 lose it but see each other: they ride through, and n1 alone is
        // no majority, so it never takes their tenants: availability without a double run.
        SimulatedFleet w = new SimulatedFleet(new Random(7));
        w.setUp(3, 9);
        w.runFor(20 * S);
        w.reachesEtcd.put("n2", false);
        w.reachesEtcd.put("n3", false);
        w.cutLinks.add("n1>n2");
        w.cutLinks.add("n1>n3");
        int before = w.nodes.get("n2").running.size() + w.nodes.get("n3").running.size();
        w.runFor(60 * S);
        assertThat(w.nodes.get("n2").running.size() + w.nodes.get("n3").running.size()).isEqualTo(before);
        w.finish();
        w.assertNoTenantRanTwice("minority with etcd");
    }
}
