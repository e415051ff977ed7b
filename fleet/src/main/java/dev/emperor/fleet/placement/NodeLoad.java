package dev.emperor.fleet.placement;

import java.util.Set;

/**
 * What the leader knows of one node when it places tenants: from the node's record in etcd
 * (written under the node's lease) and the placements that name it.
 *
 * @param name the node's name ({@code fleet-node})
 * @param maxTenants {@code fleet-max-tenants}: the node never gets more
 * @param tenants how many tenants are placed on it now
 * @param memoryBytes the memory the node offers tenants
 * @param memoryCommitted the sum of its tenants' memory limits
 * @param labels its {@code node-labels}
 * @param cordoned {@code fleet cordon}: keeps what it runs, gets nothing new
 */
public record NodeLoad(String name, int maxTenants, int tenants, long memoryBytes, long memoryCommitted,
        Set<String> labels, boolean cordoned) {
    public NodeLoad {
        labels = Set.copyOf(labels);
    }

    /** The load that orders nodes: the larger of the tenant share and the memory share. */
    public double load() {
        double byCount = maxTenants == 0 ? 1.0 : (double) tenants / maxTenants;
        double byMemory = memoryBytes == 0 ? 0.0 : (double) memoryCommitted / memoryBytes;
        return Math.max(byCount, byMemory);
    }

    boolean accepts(TenantDemand tenant) {
        return !cordoned && tenants < maxTenants && labels.containsAll(tenant.requiredLabels())
                && (memoryBytes == 0 || memoryCommitted + tenant.memoryBytes() <= memoryBytes);
    }

    NodeLoad with(TenantDemand tenant) {
        return new NodeLoad(name, maxTenants, tenants + 1, memoryBytes, memoryCommitted + tenant.memoryBytes(), labels,
                cordoned);
    }
}
