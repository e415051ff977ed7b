package dev.emperor.tunrouter;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** An {@link AddressStore} in a map: like the SQLite one, a record is never taken back. */
final class InMemoryAddressStore implements AddressStore {
    final Map<String, Integer> byTenant = new HashMap<>();
    final Set<Integer> everAllocated = new HashSet<>();

    @Override
    public Optional<Integer> addressOf(String tenant) {
        return Optional.ofNullable(byTenant.get(tenant));
    }

    @Override
    public void record(String tenant, int address) {
        if (!everAllocated.add(address)) {
            throw new IllegalStateException("address recorded twice");
        }
        byTenant.put(tenant, address);
    }

    @Override
    public Set<Integer> allocated() {
        return Set.copyOf(everAllocated);
    }

    /** A tenant removed: its name is forgotten, its address stays allocated. */
    void forget(String tenant) {
        byTenant.remove(tenant);
    }
}
