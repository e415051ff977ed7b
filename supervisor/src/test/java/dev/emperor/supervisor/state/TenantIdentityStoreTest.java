package dev.emperor.supervisor.state;

import static dev.emperor.proxy.l4.ServiceProtocol.TCP;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.emperor.proxy.l4.PortAllocator;
import dev.emperor.proxy.l4.PortLimits;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Retirement, return and purge of a tenant's identity in the state database (real SQLite). */
class TenantIdentityStoreTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final int ADDRESS = 0x0ac80002;

    @TempDir
    Path tmp;

    StateStore store;
    int uid;

    @BeforeEach
    void open() throws Exception {
        store = StateStore.open(tmp);
    }

    @AfterEach
    void close() {
        store.close();
    }

    /** alice as a running tenant has her: a vassal row, uid, address, a public port and a domain. */
    private PortAllocator aliceRunning() {
        store.vassals().setDesired("alice", Desired.RUN);
        uid = store.uids().allocate("alice", 2001, 2999);
        store.addresses().record("alice", ADDRESS);
        store.domains().claim(new DomainClaim("shop.example", "alice", T0));
        store.domains().approve(new DomainApproval("shop.example", "alice", T0));
        PortAllocator ports = new PortAllocator(20000, 20099, store.ports());
        ports.assign("alice", "db", TCP);
        return ports;
    }

    @Test
    void aRetiredTenantWhoseFileComesBackIsTheSameTenant() {
        PortAllocator ports = aliceRunning();
        assertThat(store.identities().arrive("alice")).as("her file is there, she runs").isEqualTo(TenantIdentityStore.Arrival.KNOWN);

        assertThat(store.identities().retire("alice", T0)).isTrue();
        assertThat(store.vassals().get("alice")).isEmpty();
        assertThat(store.identities().retired()).containsExactly(Map.entry("alice", T0));
        assertThat(store.uids().allocate("bob", 2001, 2999)).as("her uid is never another's while retired").isNotEqualTo(uid);

        assertThat(store.identities().arrive("alice")).isEqualTo(TenantIdentityStore.Arrival.RESTORED);
        assertThat(store.identities().retired()).isEmpty();
        assertThat(store.uids().allocate("alice", 2001, 2999)).isEqualTo(uid);
        assertThat(store.addresses().of("alice")).contains(ADDRESS);
        assertThat(ports.assign("alice", "db", TCP).publicPort()).isEqualTo(20000);
        assertThat(store.domains().claims()).extracting(DomainClaim::owner).containsExactly("alice");
    }

    @Test
    void retiringAgainNeverExtendsTheReservation() {
        aliceRunning();
        assertThat(store.identities().retire("alice", T0)).isTrue();
        assertThat(store.identities().retire("alice", T0.plusSeconds(86400))).isFalse();
        assertThat(store.identities().retiredAt("alice")).contains(T0);
    }

    @Test
    void aPurgedNameIsANewTenantAndTheOldUidAddressAndPortsGoToNobody() throws Exception {
        PortAllocator ports = aliceRunning();
        store.identities().retire("alice", T0);

        assertThat(store.identities().purge("alice", "alice@purged-1")).isTrue();
        ports.forgetTenant("alice");

        assertThat(store.identities().retired()).isEmpty();
        assertThat(store.domains().claims()).isEmpty();
        assertThat(store.domains().approvals()).isEmpty();
        assertThat(store.identities().arrive("alice")).isEqualTo(TenantIdentityStore.Arrival.NEW);
        int fresh = store.uids().allocate("alice", 2001, 2999);
        assertThat(fresh).isNotEqualTo(uid);
        assertThat(store.uids().owner(uid)).contains("alice@purged-1");
        assertThat(store.addresses().of("alice")).isEmpty();
        assertThat(store.addresses().all()).contains(ADDRESS);
        assertThatThrownBy(() -> store.addresses().record("alice", ADDRESS)).isInstanceOf(StateException.class);
        assertThat(ports.assign("alice", "db", TCP).publicPort()).as("a new port, not the old one").isEqualTo(20001);

        // and after a restart, rebuilt from the database
        store.close();
        store = StateStore.open(tmp);
        PortAllocator again = new PortAllocator(20000, 20099, store.ports());
        assertThat(again.assign("carol", "db", TCP).publicPort()).isEqualTo(20002);
        assertThat(again.assignments("alice")).extracting(a -> a.publicPort()).containsExactly(20001);
        assertThat(store.uids().allocate("alice", 2001, 2999)).isEqualTo(fresh);
    }

    @Test
    void aPurgedTenantsTrafficGoesToItsTombstoneAndTheNameCountsFromZero() {
        store.traffic().recordNetwork("alice", new TrafficTotals(10, 20, 3000, 4000));
        store.traffic().recordWeb(java.util.Map.of("alice", new dev.emperor.proxy.TenantTraffic.Totals(3, 100, 2000, 1, 5, 5)));
        store.identities().retire("alice", T0);
        assertThat(store.traffic().network("alice")).as("kept while retired").isPresent();

        assertThat(store.identities().purge("alice", "alice@purged-1")).isTrue();
        assertThat(store.traffic().network("alice")).as("a later tenant of the name bills from zero").isEmpty();
        assertThat(store.traffic().web()).doesNotContainKey("alice");
        assertThat(store.traffic().network("alice@purged-1")).as("the bill of the customer who left")
                .contains(new TrafficTotals(10, 20, 3000, 4000));
        assertThat(store.traffic().web()).containsKey("alice@purged-1");
    }

    @Test
    void aPurgedNameStartsWithItsWholePortCap() {
        PortAllocator ports = aliceRunning();
        ports.setLimits(new PortLimits(1, Map.of()));
        store.identities().retire("alice", T0);
        store.identities().purge("alice", "alice@purged-1");
        ports.forgetTenant("alice");
        assertThat(ports.assign("alice", "web", TCP).publicPort()).isEqualTo(20001);
    }

    @Test
    void onlyARetiredTenantCanBePurged() {
        aliceRunning();
        assertThat(store.identities().purge("alice", "alice@purged-1")).as("a live tenant").isFalse();
        assertThat(store.uids().owner(uid)).contains("alice");
        assertThat(store.addresses().of("alice")).contains(ADDRESS);
        assertThat(store.domains().claims()).hasSize(1);
        assertThat(store.identities().purge("nobody", "nobody@purged-1")).as("an unknown name").isFalse();
    }

    @Test
    void aNameNeverSeenIsANewTenant() {
        assertThat(store.identities().arrive("zed")).isEqualTo(TenantIdentityStore.Arrival.NEW);
    }

    @Test
    void tenantsRemovedBeforeRetirementExistedAreRetiredByTheUpgrade() throws Exception {
        aliceRunning();
        store.uids().allocate("gone", 2001, 2999); // removed under the old code: a uid, no vassal row
        store.close();
        try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + tmp.resolve("emperor.db"));
                Statement st = raw.createStatement()) {
            st.executeUpdate("DROP TABLE retired");
            st.executeUpdate("PRAGMA user_version = 10"); // the schema before the retired table
        }
        Instant before = Instant.now().minusSeconds(2);
        store = StateStore.open(tmp);
        assertThat(store.identities().retired()).containsOnlyKeys("gone");
        assertThat(store.identities().retiredAt("gone").orElseThrow()).isAfter(before);
    }
}
