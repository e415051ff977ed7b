package dev.emperor.supervisor.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Tenant addresses: kept for good, never shared. */
class AddressLedgerTest extends StoreTestBase {
    @Test
    void tenantAddressesAreKeptAfterTheTenantIsRemovedAndNeverShared() throws Exception {
        store.vassals().recordSpawn("alice", 1, 1L, "h", 2001, 2001);
        store.addresses().record("alice", 0x0ac80002);
        store.identities().retire("alice", Instant.now());
        store.close();
        store = StateStore.open(stateDir);
        assertThat(store.addresses().of("alice")).contains(0x0ac80002);
        assertThat(store.addresses().of("bob")).isEmpty();
        assertThat(store.addresses().all()).containsExactly(0x0ac80002);
        assertThatThrownBy(() -> store.addresses().record("bob", 0x0ac80002)).isInstanceOf(StateException.class);
    }
}
