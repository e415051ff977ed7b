package dev.emperor.proxy.l4;

import static dev.emperor.proxy.l4.ServiceProtocol.TCP;
import static dev.emperor.proxy.l4.ServiceProtocol.TLS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PortAllocatorTest {

    private final MemoryPortLedger ledger = new MemoryPortLedger();

    private static Map<String, ServiceProtocol> services(String... names) {
        Map<String, ServiceProtocol> m = new LinkedHashMap<>();
        for (String n : names) {
            m.put(n, TCP);
        }
        return m;
    }

    @Test
    void firstServiceGetsTheLowestPortOfTheRange() {
        PortAllocator ports = new PortAllocator(20000, 20009, ledger);
        assertThat(ports.assign("shop", "db", TCP).publicPort()).isEqualTo(20000);
        assertThat(ports.assign("shop", "mail", TCP).publicPort()).isEqualTo(20001);
        assertThat(ports.assign("blog", "db", TCP).publicPort()).isEqualTo(20002);
    }

    @Test
    void sameServiceAlwaysGetsTheSamePortWithoutWritingAgain() {
        PortAllocator ports = new PortAllocator(20000, 20009, ledger);
        int first = ports.assign("shop", "db", TCP).publicPort();
        int writes = ledger.writes;
        assertThat(ports.assign("shop", "db", TCP).publicPort()).isEqualTo(first);
        assertThat(ledger.writes).isEqualTo(writes);
    }

    @Test
    void portsSurviveARestartBecauseTheAllocatorIsRebuiltFromTheLedger() {
        PortAllocator before = new PortAllocator(20000, 20009, ledger);
        before.assign("shop", "db", TCP);
        before.assign("blog", "web", TLS);
        PortAllocator after = new PortAllocator(20000, 20009, ledger);
        assertThat(after.assign("blog", "web", TLS).publicPort()).isEqualTo(20001);
        assertThat(after.assign("shop", "db", TCP).publicPort()).isEqualTo(20000);
        assertThat(after.assign("new", "x", TCP).publicPort()).isEqualTo(20002);
    }

    @Test
    void aDestroyedTenantsPortIsNeverGivenToAnotherTenant() {
        PortAllocator ports = new PortAllocator(20000, 20001, ledger);
        ports.assign("old", "db", TCP);
        ports.releaseTenant("old");
        PortAllocator restarted = new PortAllocator(20000, 20001, ledger);
        assertThat(restarted.assign("stranger", "db", TCP).publicPort()).isEqualTo(20001);
        assertThatThrownBy(() -> restarted.assign("stranger2", "db", TCP))
                .isInstanceOf(PortRangeExhaustedException.class);
    }

    @Test
    void aRemovedServiceKeepsItsPortAndGetsItBackWhenReAdded() {
        PortAllocator ports = new PortAllocator(20000, 20009, ledger);
        ports.reconcile("shop", services("db", "mail"));
        ports.reconcile("shop", services("db"));
        assertThat(ports.find("shop", "mail").orElseThrow().released()).isTrue();
        ports.assign("blog", "web", TCP);
        List<PortAssignment> back = ports.reconcile("shop", services("db", "mail")).assigned();
        assertThat(back).extracting(PortAssignment::publicPort).containsExactly(20000, 20001);
        assertThat(back).noneMatch(PortAssignment::released);
    }

    @Test
    void aRecreatedTenantOfTheSameNameGetsItsPortsBack() {
        PortAllocator ports = new PortAllocator(20000, 20009, ledger);
        ports.assign("shop", "db", TCP);
        ports.releaseTenant("shop");
        assertThat(new PortAllocator(20000, 20009, ledger).find("shop", "db").orElseThrow().released()).isTrue();
        assertThat(ports.assign("shop", "db", TCP)).isEqualTo(new PortAssignment("shop", "db", TCP, 20000, false));
    }

    @Test
    void exhaustedRangeIsAnErrorNamingTheRange() {
        PortAllocator ports = new PortAllocator(30000, 30001, ledger);
        ports.assign("a", "x", TCP);
        ports.assign("b", "x", TCP);
        assertThatThrownBy(() -> ports.assign("c", "x", TCP))
                .isInstanceOf(PortRangeExhaustedException.class)
                .hasMessageContaining("30000-30001")
                .hasMessageContaining("c/x");
        assertThat(ports.remaining()).isZero();
    }

    @Test
    void changingTheProtocolKeepsThePortAndIsStored() {
        PortAllocator ports = new PortAllocator(20000, 20009, ledger);
        ports.assign("shop", "web", TCP);
        assertThat(ports.assign("shop", "web", TLS).publicPort()).isEqualTo(20000);
        assertThat(ledger.rows).containsExactly(new PortAssignment("shop", "web", TLS, 20000, false));
    }

    @Test
    void aPortOutsideANewRangeIsKeptAndNotReusedIfTheRangeComesBack() {
        new PortAllocator(20000, 20009, ledger).assign("shop", "db", TCP);
        PortAllocator moved = new PortAllocator(21000, 21009, ledger);
        assertThat(moved.assign("shop", "db", TCP).publicPort()).isEqualTo(20000);
        assertThat(moved.assign("blog", "db", TCP).publicPort()).isEqualTo(21000);
        PortAllocator back = new PortAllocator(20000, 20009, ledger);
        assertThat(back.assign("new", "db", TCP).publicPort()).isEqualTo(20001);
    }

    @Test
    void aFailedLedgerWriteGivesNoPortAndTheNextAttemptGetsTheSameOne() {
        PortAllocator ports = new PortAllocator(20000, 20009, ledger);
        ledger.failNextRecord = true;
        assertThatThrownBy(() -> ports.assign("shop", "db", TCP)).hasMessageContaining("disk full");
        assertThat(ports.find("shop", "db")).isEmpty();
        assertThat(ports.assign("shop", "db", TCP).publicPort()).isEqualTo(20000);
    }

    @Test
    void reconcileReleasesOnlyThatTenantsUndeclaredServices() {
        PortAllocator ports = new PortAllocator(20000, 20009, ledger);
        ports.reconcile("shop", services("db"));
        ports.reconcile("blog", services("db"));
        ports.reconcile("shop", services());
        assertThat(ports.find("shop", "db").orElseThrow().released()).isTrue();
        assertThat(ports.find("blog", "db").orElseThrow().released()).isFalse();
        assertThat(ports.assignments("shop")).hasSize(1);
    }

    @Test
    void assignmentsAreListedByServiceName() {
        PortAllocator ports = new PortAllocator(20000, 20009, ledger);
        ports.reconcile("shop", services("web", "db", "mail"));
        assertThat(ports.assignments("shop")).extracting(PortAssignment::service).containsExactly("db", "mail", "web");
    }

    @Test
    void badRangesAreRefused() {
        assertThatThrownBy(() -> new PortAllocator(0, 10, ledger)).hasMessageContaining("0-10");
        assertThatThrownBy(() -> new PortAllocator(10, 9, ledger)).hasMessageContaining("10-9");
        assertThatThrownBy(() -> new PortAllocator(10, 65536, ledger)).hasMessageContaining("10-65536");
    }

    @Test
    void aLedgerThatGivesOnePortTwiceIsRefusedAtLoad() {
        ledger.rows.add(new PortAssignment("a", "x", TCP, 20000, false));
        ledger.rows.add(new PortAssignment("b", "x", TCP, 20000, false));
        assertThatThrownBy(() -> new PortAllocator(20000, 20009, ledger)).hasMessageContaining("20000 twice");
    }

    @Test
    void twoThreadsAskingAtOnceNeverGetTheSamePort() throws Exception {
        PortAllocator ports = new PortAllocator(20000, 29999, ledger);
        ports.setLimits(new PortLimits(10_000, Map.of()));
        int threads = 8;
        int each = 200;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<List<Integer>>> results = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            String tenant = "t" + t;
            results.add(pool.submit(() -> {
                start.await();
                List<Integer> got = new ArrayList<>();
                for (int i = 0; i < each; i++) {
                    got.add(ports.assign(tenant, "s" + i, TCP).publicPort());
                    // the same key asked again from another thread must agree
                    got.add(ports.assign("shared", "s" + i, TCP).publicPort());
                }
                return got;
            }));
        }
        start.countDown();
        Set<Integer> own = new HashSet<>();
        Set<Integer> shared = new HashSet<>();
        for (Future<List<Integer>> f : results) {
            List<Integer> got = f.get(30, TimeUnit.SECONDS);
            for (int i = 0; i < got.size(); i += 2) {
                assertThat(own.add(got.get(i))).isTrue();
                shared.add(got.get(i + 1));
            }
        }
        pool.shutdown();
        assertThat(shared).hasSize(each);
        assertThat(Collections.disjoint(own, shared)).isTrue();
        assertThat(ledger.rows).hasSize(threads * each + each);
    }

    // ---- the per-tenant cap (max-ports) ----------------------------------------------------

    private static Map<String, ServiceProtocol> numbered(int from, int count) {
        Map<String, ServiceProtocol> m = new LinkedHashMap<>();
        for (int i = from; i < from + count; i++) {
            m.put("s" + i, TCP);
        }
        return m;
    }

    @Test
    void aTenantGetsAtMostEightPortsByDefaultAndTheRestAreRefusedNamingTheCap() {
        PortAllocator ports = new PortAllocator(20000, 20999, ledger);
        PortAllocator.Reconciled result = ports.reconcile("greedy", numbered(0, 1000));
        assertThat(result.assigned()).hasSize(PortLimits.DEFAULT_PER_TENANT);
        assertThat(result.refused()).hasSize(1000 - PortLimits.DEFAULT_PER_TENANT);
        assertThat(result.refused().get(0)).contains("port s8 refused", "greedy", "limit is 8", "max-ports",
                "max-ports-for = greedy N");
        assertThat(ports.remaining()).isEqualTo(1000 - 8);
        assertThat(ports.assign("neighbour", "db", TCP).publicPort()).isEqualTo(20008);
        assertThatThrownBy(() -> ports.assign("greedy", "one-more", TCP)).isInstanceOf(PortLimitExceededException.class);
    }

    @Test
    void droppingAndReAddingPortLinesCannotDrainTheRange() {
        PortAllocator ports = new PortAllocator(20000, 20099, ledger);
        for (int round = 0; round < 100; round++) {
            ports.reconcile("churn", numbered(round, 1)); // a new service name each time, the old one dropped
        }
        assertThat(ports.assignments("churn")).hasSize(8);
        assertThat(ports.remaining()).isEqualTo(100 - 8);
        PortAllocator.Reconciled refused = ports.reconcile("churn", services("again"));
        assertThat(refused.refused()).singleElement().asString()
                .contains("ports of removed services count too", "s0, s1,");
        // a released name declared again gets its own port back, within the cap
        assertThat(ports.reconcile("churn", services("s3")).assigned()).extracting(PortAssignment::publicPort)
                .containsExactly(20003);
    }

    @Test
    void aRefusedServiceLeavesTheTenantsOtherPortsAlone() {
        PortAllocator ports = new PortAllocator(20000, 20099, ledger);
        ports.setLimits(new PortLimits(2, Map.of()));
        ports.reconcile("shop", services("web", "db"));
        PortAllocator.Reconciled result = ports.reconcile("shop", services("new", "web", "db"));
        assertThat(result.assigned()).extracting(PortAssignment::service).containsExactly("web", "db");
        assertThat(result.refused()).singleElement().asString().startsWith("port new refused");
    }

    @Test
    void theOperatorsCapForOneTenantBeatsTheDefaultAndALoweredCapKeepsPortsHeld() {
        PortAllocator ports = new PortAllocator(20000, 20099, ledger);
        ports.setLimits(new PortLimits(1, Map.of("big", 3)));
        assertThat(ports.reconcile("big", services("a", "b", "c", "d")).assigned()).hasSize(3);
        assertThat(ports.reconcile("small", services("a", "b")).assigned()).hasSize(1);
        ports.setLimits(new PortLimits(1, Map.of()));
        PortAllocator.Reconciled big = ports.reconcile("big", services("a", "b", "c", "d"));
        assertThat(big.assigned()).extracting(PortAssignment::publicPort).containsExactly(20000, 20001, 20002);
        assertThat(big.refused()).singleElement().asString().contains("already holds 3 public ports", "limit is 1");
    }

    @Test
    void aCapCountsPortsLoadedFromTheLedgerAfterARestart() {
        new PortAllocator(20000, 20099, ledger).reconcile("shop", numbered(0, 8));
        PortAllocator restarted = new PortAllocator(20000, 20099, ledger);
        assertThatThrownBy(() -> restarted.assign("shop", "ninth", TCP)).isInstanceOf(PortLimitExceededException.class);
    }

    @Test
    void anExhaustedRangeRefusesOnlyTheNewServiceInAReconcile() {
        PortAllocator ports = new PortAllocator(30000, 30001, ledger);
        ports.assign("shop", "db", TCP);
        ports.assign("other", "x", TCP);
        PortAllocator.Reconciled result = ports.reconcile("shop", services("db", "mail"));
        assertThat(result.assigned()).extracting(PortAssignment::service).containsExactly("db");
        assertThat(result.refused()).singleElement().asString().contains("30000-30001");
    }
}
