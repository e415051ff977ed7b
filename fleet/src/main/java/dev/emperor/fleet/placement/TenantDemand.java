package dev.emperor.fleet.placement;

import java.util.Set;

/**
 * A tenant waiting to be placed.
 *
 * @param name the vassal's name
 * @param memoryBytes its memory limit (what it commits on a node)
 * @param requiredLabels its {@code placement} labels: a node must carry all of them
 */
public record TenantDemand(String name, long memoryBytes, Set<String> requiredLabels) {
    public TenantDemand {
        requiredLabels = Set.copyOf(requiredLabels);
    }
}
