package dev.emperor.supervisor.state;

import dev.emperor.proxy.TenantTraffic;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateStoreTest {

    @TempDir
    Path tmp;

    Path stateDir;
    StateStore store;

    @BeforeEach
    void open() throws Exception {
        stateDir = tmp.resolve("state");
        store = StateStore.open(stateDir);
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void createsAPrivateStateDirectoryHoldingTheDatabase() throws Exception {
        assertThat(Files.isRegularFile(stateDir.resolve("emperor.db"))).isTrue();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(stateDir))).isEqualTo("rwx------");
    }

    @Test
    void usesWalAndAVersionedSchema() {
        assertThat(store.journalMode()).isEqualToIgnoringCase("wal");
        assertThat(store.schemaVersion()).isEqualTo(11);
    }

    @Test
    void committedDataIsSeenAfterReopening() throws Exception {
        store.recordSpawn("alice", 4242, 987654L, "hash1", 2001, 2001);
        store.event("alice", EventKind.SPAWN, "pid 4242");
        int uid = store.allocateUid("alice", 2001, 2999);
        store.close();

        store = StateStore.open(stateDir);
        VassalRow alice = store.vassal("alice").orElseThrow();
        assertThat(alice.pid()).isEqualTo(4242);
        assertThat(alice.pidStartTime()).isEqualTo(987654L);
        assertThat(store.events("alice", 10)).extracting(EventRow::detail).containsExactly("pid 4242");
        assertThat(store.allocateUid("alice", 2001, 2999)).isEqualTo(uid);
        assertThat(store.schemaVersion()).isEqualTo(11);
    }

    @Test
    void webTrafficSurvivesReopeningAndAStoredCountNeverGoesDown() throws Exception {
        assertThat(store.webTraffic()).isEmpty();
        store.recordWebTraffic(java.util.Map.of("shop", new TenantTraffic.Totals(3, 100, 2000, 1, 5, 5),
                "blog", new TenantTraffic.Totals(1, 0, 10, 0, 0, 0)));
        store.close();

        store = StateStore.open(stateDir);
        assertThat(store.webTraffic()).containsEntry("shop", new TenantTraffic.Totals(3, 100, 2000, 1, 5, 5))
                .containsEntry("blog", new TenantTraffic.Totals(1, 0, 10, 0, 0, 0));
        // a late or stale write (an emperor that lost its last interval) never lowers a bill
        store.recordWebTraffic(java.util.Map.of("shop", new TenantTraffic.Totals(2, 150, 1000, 1, 4, 9)));
        assertThat(store.webTraffic()).containsEntry("shop", new TenantTraffic.Totals(3, 150, 2000, 1, 5, 9));
        store.retire("shop", java.time.Instant.now());
        assertThat(store.webTraffic()).as("kept after the tenant is removed").containsKey("shop");
    }

    @Test
    void trafficTotalsSurviveReopeningAndNeverGoBack() throws Exception {
        assertThat(store.trafficTotals("shop")).isEmpty();
        store.recordTrafficTotals("shop", new TrafficTotals(10, 20, 3000, 4000));
        store.recordTrafficTotals("blog", new TrafficTotals(1, 1, 60, 60));
        store.close();

        store = StateStore.open(stateDir);
        assertThat(store.trafficTotals("shop")).contains(new TrafficTotals(10, 20, 3000, 4000));
        // a lower number (a bug, a stale writer) never replaces a higher one; each counter on its own
        store.recordTrafficTotals("shop", new TrafficTotals(5, 25, 2000, 4500));
        assertThat(store.trafficTotals("shop")).contains(new TrafficTotals(10, 25, 3000, 4500));
        assertThat(store.trafficTotals("blog")).contains(new TrafficTotals(1, 1, 60, 60));
    }

    @Test
    void certificateOriginsSurviveReopeningAndCanBeForgotten() throws Exception {
        assertThat(store.certificateOrigin("shop")).isEmpty();
        store.setCertificateOrigin("shop", CertificateOrigin.UPLOAD);
        store.setCertificateOrigin("shop", CertificateOrigin.ACME);
        store.setCertificateOrigin("blog", CertificateOrigin.UPLOAD);
        store.close();

        store = StateStore.open(stateDir);
        assertThat(store.certificateOrigin("shop")).contains(CertificateOrigin.ACME);
        assertThat(store.certificateOrigin("blog")).contains(CertificateOrigin.UPLOAD);
        store.setCertificateOrigin("shop", null);
        assertThat(store.certificateOrigin("shop")).isEmpty();
        assertThat(store.certificateOrigin("blog")).contains(CertificateOrigin.UPLOAD);
    }

    @Test
    void acmeBackOffsSurviveReopeningAndCanBeForgotten() throws Exception {
        Instant notBefore = Instant.parse("2031-05-04T10:20:30.123Z");
        assertThat(store.acmeRetries()).isEmpty();
        store.setAcmeRetry("shop", new AcmeRetry(1, notBefore));
        store.setAcmeRetry("shop", new AcmeRetry(2, notBefore.plusSeconds(600)));
        store.setAcmeRetry("blog", new AcmeRetry(5, notBefore));
        store.close();

        store = StateStore.open(stateDir);
        assertThat(store.acmeRetries()).containsExactly(
                Map.entry("blog", new AcmeRetry(5, notBefore)),
                Map.entry("shop", new AcmeRetry(2, notBefore.plusSeconds(600))));
        store.setAcmeRetry("shop", null);
        store.setAcmeRetry("nobody", null);
        assertThat(store.acmeRetries()).containsOnlyKeys("blog");
        assertThatThrownBy(() -> store.setAcmeRetry("blog", new AcmeRetry(0, notBefore)))
                .isInstanceOf(StateException.class);
        assertThat(store.acmeRetries().get("blog")).isEqualTo(new AcmeRetry(5, notBefore));
    }

    @Test
    void daemonRecordsSurviveReopeningAndAreForgottenPerKeyOrAll() throws Exception {
        store.recordDaemon("alice", "redis-server", 4300, 11L);
        store.recordDaemon("alice", "memcached", 4301, 12L);
        store.recordDaemon("bob", "redis-server", 4400, 13L);
        store.close();

        store = StateStore.open(stateDir);
        assertThat(store.daemons("alice")).containsOnlyKeys("redis-server", "memcached");
        assertThat(store.daemons("alice").get("redis-server")).containsExactly(4300L, 11L);
        store.forgetDaemon("alice", "memcached");
        assertThat(store.daemons("alice")).containsOnlyKeys("redis-server");
        store.forgetDaemon("alice", null);
        assertThat(store.daemons("alice")).isEmpty();
        assertThat(store.daemons("bob")).containsOnlyKeys("redis-server");
    }

    @Test
    void tenantAddressesAreKeptAfterTheTenantIsRemovedAndNeverShared() throws Exception {
        store.recordSpawn("alice", 1, 1L, "h", 2001, 2001);
        store.recordAddress("alice", 0x0ac80002);
        store.retire("alice", Instant.now());
        store.close();
        store = StateStore.open(stateDir);
        assertThat(store.addressOf("alice")).contains(0x0ac80002);
        assertThat(store.addressOf("bob")).isEmpty();
        assertThat(store.addresses()).containsExactly(0x0ac80002);
        assertThatThrownBy(() -> store.recordAddress("bob", 0x0ac80002)).isInstanceOf(StateException.class);
    }

    @Test
    void anotherOpenStoreSeesCommittedWritesImmediately() throws Exception {
        // A second connection stands in for a restarted emperor: nothing waits in a buffer.
        try (StateStore other = StateStore.open(stateDir)) {
            store.setDesired("bob", Desired.STOP);
            assertThat(other.vassal("bob").orElseThrow().desired()).isEqualTo(Desired.STOP);
        }
    }

    @Test
    void refusesADatabaseFromANewerEmperor() throws Exception {
        store.close();
        try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + stateDir.resolve("emperor.db"));
                var st = c.createStatement()) {
            st.executeUpdate("PRAGMA user_version = 99");
        }
        assertThatThrownBy(() -> StateStore.open(stateDir))
                .hasMessageContaining("schema version 99");
        store = StateStore.open(tmp.resolve("other"));
    }

    @Test
    void aVassalRowIsCreatedByItsFirstWriteWithDefaults() {
        assertThat(store.vassal("alice")).isEmpty();
        store.recordError("alice", "alice.ini line 3: unknown key 'foo'");
        VassalRow row = store.vassal("alice").orElseThrow();
        assertThat(row.desired()).isEqualTo(Desired.RUN);
        assertThat(row.hasProcess()).isFalse();
        assertThat(row.uid()).isEqualTo(-1);
        assertThat(row.startedAt()).isNull();
        assertThat(row.lastError()).isEqualTo("alice.ini line 3: unknown key 'foo'");
        store.recordError("alice", null);
        assertThat(store.vassal("alice").orElseThrow().lastError()).isNull();
    }

    @Test
    void spawnThenExitTracksTheProcessAndCountsRestarts() {
        store.recordError("alice", "spawn failed");
        store.recordSpawn("alice", 100, 5000L, "h1", 2001, 2002);
        VassalRow running = store.vassal("alice").orElseThrow();
        assertThat(running.hasProcess()).isTrue();
        assertThat(running.configHash()).isEqualTo("h1");
        assertThat(running.uid()).isEqualTo(2001);
        assertThat(running.gid()).isEqualTo(2002);
        assertThat(running.startedAt()).isNotNull();
        assertThat(running.lastError()).as("a successful spawn clears the error").isNull();

        store.recordExit("alice", "exited 1", true);
        store.recordSpawn("alice", 101, 5001L, "h1", 2001, 2002);
        store.recordExit("alice", "stopped by operator", false);
        VassalRow stopped = store.vassal("alice").orElseThrow();
        assertThat(stopped.hasProcess()).isFalse();
        assertThat(stopped.pid()).isZero();
        assertThat(stopped.pidStartTime()).isZero();
        assertThat(stopped.restarts()).isEqualTo(1);
        assertThat(stopped.lastExit()).isEqualTo("stopped by operator");
    }

    @Test
    void vassalsAreListedByName() {
        store.setDesired("carol", Desired.RUN);
        store.setDesired("alice", Desired.STOP);
        store.setDesired("bob", Desired.RUN);
        assertThat(store.vassals()).extracting(VassalRow::name).containsExactly("alice", "bob", "carol");
        assertThat(store.vassal("alice").orElseThrow().desired()).isEqualTo(Desired.STOP);
    }

    @Test
    void removingAVassalKeepsItsUidAndEvents() {
        int uid = store.allocateUid("alice", 2001, 2999);
        store.setDesired("alice", Desired.RUN);
        store.event("alice", EventKind.CONFIG, "removed");
        store.retire("alice", Instant.now());

        assertThat(store.vassal("alice")).isEmpty();
        assertThat(store.uidOwner(uid)).contains("alice");
        assertThat(store.events("alice", 10)).hasSize(1);
        assertThat(store.allocateUid("bob", 2001, 2999)).as("never handed to another tenant").isNotEqualTo(uid);
        assertThat(store.allocateUid("alice", 2001, 2999)).as("a returning tenant gets its uid back").isEqualTo(uid);
    }

    @Test
    void allocatesTheLowestFreeUidAndReturnsTheSameOneAgain() {
        assertThat(store.allocateUid("alice", 2001, 2999)).isEqualTo(2001);
        assertThat(store.allocateUid("bob", 2001, 2999)).isEqualTo(2002);
        assertThat(store.allocateUid("alice", 2001, 2999)).isEqualTo(2001);
        store.claimUid("carol", 2004);
        assertThat(store.allocateUid("dave", 2001, 2999)).isEqualTo(2003);
        assertThat(store.allocateUid("erin", 2001, 2999)).as("skips the claimed 2004").isEqualTo(2005);
    }

    @Test
    void aFullUidRangeIsAnError() {
        store.allocateUid("alice", 2001, 2002);
        store.allocateUid("bob", 2001, 2002);
        assertThatThrownBy(() -> store.allocateUid("carol", 2001, 2002))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("uid range 2001-2002 exhausted");
        assertThat(store.uidOwner(2002)).contains("bob");
    }

    @Test
    void aTenantKeepsItsUidWhenTheRangeChanges() {
        store.allocateUid("alice", 2001, 2999);
        assertThat(store.allocateUid("alice", 5000, 5999)).isEqualTo(2001);
    }

    @Test
    void claimingAnotherTenantsUidIsRefused() {
        store.claimUid("bob", 1234);
        assertThatThrownBy(() -> store.claimUid("alice", 1234))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("uid 1234 already belongs to tenant bob");
        assertThatThrownBy(() -> store.claimUid("alice", 0)).isInstanceOf(IllegalArgumentException.class);
        store.claimUid("bob", 1234); // claiming one's own uid again is fine
        assertThat(store.uidOwner(1234)).contains("bob");
    }

    @Test
    void aTenantThatSwitchesUidKeepsTheOldOneReserved() {
        store.claimUid("alice", 2001);
        store.claimUid("alice", 3000);
        assertThat(store.allocateUid("alice", 2001, 2999)).as("its current uid").isEqualTo(3000);
        assertThat(store.uidOwner(2001)).contains("alice");
        assertThat(store.allocateUid("bob", 2001, 2999)).isEqualTo(2002);
        assertThatThrownBy(() -> store.claimUid("bob", 2001)).hasMessage("uid 2001 already belongs to tenant alice");
        store.claimUid("alice", 2001); // and may go back to it
        assertThat(store.allocateUid("alice", 2001, 2999)).isEqualTo(2001);
    }

    @Test
    void eventsComeNewestFirstPerVassal() {
        store.event("alice", EventKind.SPAWN, "pid 1");
        store.event("bob", EventKind.SPAWN, "pid 2");
        store.event("alice", EventKind.EXIT, "exited 0");
        store.event("alice", EventKind.ERROR, null);

        List<EventRow> events = store.events("alice", 10);
        assertThat(events).extracting(EventRow::kind).containsExactly(EventKind.ERROR, EventKind.EXIT, EventKind.SPAWN);
        assertThat(events.get(0).detail()).isNull();
        assertThat(events.get(0).at()).isNotNull();
        assertThat(store.events("alice", 2)).hasSize(2);
    }

    @Test
    void onlyTheNewestEventsOfEachVassalAreKept() throws Exception {
        try (StateStore small = StateStore.open(tmp.resolve("small"), 5)) {
            for (int i = 1; i <= 12; i++) {
                small.event("alice", EventKind.EXIT, "exit " + i);
            }
            small.event("bob", EventKind.SPAWN, "bob's only event");
            assertThat(small.events("alice", 100)).extracting(EventRow::detail)
                    .containsExactly("exit 12", "exit 11", "exit 10", "exit 9", "exit 8");
            assertThat(small.events("bob", 100)).hasSize(1);
        }
    }

    @Test
    void theOperatorsMaintenanceSettingIsKeptUntilForgotten() throws Exception {
        assertThat(store.maintenance("shop")).isEmpty();
        store.setMaintenance("shop", true);
        store.close();
        store = StateStore.open(stateDir);
        assertThat(store.maintenance("shop")).contains(true);
        store.setMaintenance("shop", false);
        assertThat(store.maintenance("shop")).contains(false);
        store.setMaintenance("shop", null);
        assertThat(store.maintenance("shop")).isEmpty();
    }
}
