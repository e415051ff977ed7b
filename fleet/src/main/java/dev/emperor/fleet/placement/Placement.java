package dev.emperor.fleet.placement;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The placement rule, as a pure function: each tenant goes to the eligible node with the lowest
 * load; ties go to the node with the fewest tenants, then to the first name. A node is eligible
 * when it is not cordoned, has fewer tenants than its {@code fleet-max-tenants}, carries every
 * label the tenant asks for and has the memory left for the tenant's limit. Tenants are placed
 * one after the other in name order, each seeing the load the earlier ones added, so a batch
 * spreads as evenly as one at a time would.
 */
public final class Placement {
    private static final Comparator<NodeLoad> LEAST_LOADED = Comparator.comparingDouble(NodeLoad::load)
            .thenComparingInt(NodeLoad::tenants)
            .thenComparing(NodeLoad::name);

    private Placement() {}

    /** The outcome: where each placeable tenant goes, and the tenants no node can take now. */
    public record Plan(Map<String, String> nodeOfTenant, List<String> unplaceable) {}

    public static Plan place(List<NodeLoad> nodes, List<TenantDemand> tenants) {
        List<NodeLoad> current = new ArrayList<>(nodes);
        Map<String, String> placed = new LinkedHashMap<>();
        List<String> unplaceable = new ArrayList<>();
        List<TenantDemand> ordered = new ArrayList<>(tenants);
        ordered.sort(Comparator.comparing(TenantDemand::name));
        for (TenantDemand tenant : ordered) {
            Optional<NodeLoad> best = current.stream().filter(n -> n.accepts(tenant)).min(LEAST_LOADED);
            if (best.isEmpty()) {
                unplaceable.add(tenant.name());
                continue;
            }
            NodeLoad chosen = best.get();
            current.set(current.indexOf(chosen), chosen.with(tenant));
            placed.put(tenant.name(), chosen.name());
        }
        return new Plan(placed, unplaceable);
    }
}
