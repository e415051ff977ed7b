package dev.emperor.tunrouter;

import java.util.BitSet;
import java.util.Objects;
import java.util.Optional;

/**
 * Gives each tenant its {@code tun0} address from the tenant subnet: the same address every
 * time (it is recorded in the {@link AddressStore}), never one another tenant ever held (even a
 * removed one: its peers may still have it in caches, ACLs or DNS), and never the network,
 * gateway or broadcast address. New tenants get the lowest address never given out.
 */
public final class AddressPool {
    private final TenantSubnet subnet;
    private final AddressStore store;
    /** Bit i = address firstTenantAddress + i was given out at some time. */
    private final BitSet used = new BitSet();
    private int nextFree;

    public AddressPool(TenantSubnet subnet, AddressStore store) {
        this.subnet = Objects.requireNonNull(subnet, "subnet");
        this.store = Objects.requireNonNull(store, "store");
        for (int address : store.allocated()) {
            // Addresses from an earlier, different subnet cannot collide with this one.
            if (subnet.isTenantAddress(address)) {
                used.set(address - subnet.firstTenantAddress());
            }
        }
        nextFree = used.nextClearBit(0);
    }

    public TenantSubnet subnet() {
        return subnet;
    }

    /** The tenant's address: the recorded one, or a new one recorded before it is returned. */
    public synchronized int addressFor(String tenant) {
        if (tenant == null || tenant.isEmpty()) {
            throw new IllegalArgumentException("tenant name is empty");
        }
        Optional<Integer> recorded = store.addressOf(tenant);
        if (recorded.isPresent()) {
            int address = recorded.get();
            if (!subnet.isTenantAddress(address)) {
                throw new IllegalStateException("tenant '" + tenant + "' has the recorded address " + Cidr.format(address)
                        + ", which is not a tenant address of the subnet " + subnet
                        + " (was the subnet changed? addresses are stable, so the old subnet must stay)");
            }
            return address;
        }
        if (nextFree >= subnet.capacity()) {
            throw new AddressPoolExhaustedException("tenant subnet " + subnet + " is exhausted: all " + subnet.capacity()
                    + " tenant addresses have been given out and addresses are never reused; configure a larger subnet");
        }
        int address = subnet.firstTenantAddress() + nextFree;
        store.record(tenant, address);
        used.set(nextFree);
        nextFree = used.nextClearBit(nextFree);
        return address;
    }
}
