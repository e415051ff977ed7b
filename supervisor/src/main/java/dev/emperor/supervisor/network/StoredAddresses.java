package dev.emperor.supervisor.network;

import dev.emperor.supervisor.state.StateStore;
import dev.emperor.tunrouter.AddressStore;
import java.util.Optional;
import java.util.Set;

/** The {@link AddressStore} of the address pool, kept in the emperor's SQLite state. */
final class StoredAddresses implements AddressStore {
    private final StateStore store;

    StoredAddresses(StateStore store) {
        this.store = store;
    }

    @Override
    public Optional<Integer> addressOf(String tenant) {
        return store.addresses().of(tenant);
    }

    @Override
    public void record(String tenant, int address) {
        store.addresses().record(tenant, address);
    }

    @Override
    public Set<Integer> allocated() {
        return store.addresses().all();
    }
}
