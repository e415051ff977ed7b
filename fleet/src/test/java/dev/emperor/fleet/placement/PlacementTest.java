package dev.emperor.fleet.placement;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PlacementTest {
    private static final long GIB = 1L << 30;

    private static NodeLoad node(String name, int max, int tenants) {
        return new NodeLoad(name, max, tenants, 0, 0, Set.of(), false);
    }

    private static TenantDemand tenant(String name) {
        return new TenantDemand(name, 0, Set.of());
    }

    @Test
    void aTenantGoesToTheLeastLoadedNodeAndTiesToTheFewestTenantsThenTheFirstName() {
        List<NodeLoad> nodes = List.of(node("a", 10, 5), node("b", 100, 20), node("c", 10, 2));
        // loads: a 0.5, b 0.2, c 0.2 → b and c tie on load, c has fewer tenants
        assertThat(Placement.place(nodes, List.of(tenant("t"))).nodeOfTenant()).containsEntry("t", "c");
        List<NodeLoad> even = List.of(node("b", 10, 0), node("a", 10, 0));
        assertThat(Placement.place(even, List.of(tenant("t"))).nodeOfTenant()).containsEntry("t", "a");
    }

    @Test
    void memoryCommittedCountsAsLoadAndBoundsWhatANodeTakes() {
        List<NodeLoad> nodes = List.of(new NodeLoad("small", 100, 0, 4 * GIB, 3 * GIB, Set.of(), false),
                new NodeLoad("big", 100, 10, 64 * GIB, 8 * GIB, Set.of(), false));
        Placement.Plan plan = Placement.place(nodes, List.of(new TenantDemand("t", 2 * GIB, Set.of())));
        assertThat(plan.nodeOfTenant()).containsEntry("t", "big");
        Placement.Plan tooBig = Placement.place(nodes, List.of(new TenantDemand("huge", 100 * GIB, Set.of())));
        assertThat(tooBig.unplaceable()).containsExactly("huge");
    }

    @Test
    void cordonedFullAndUnlabelledNodesGetNothing() {
        List<NodeLoad> nodes = List.of(new NodeLoad("cordoned", 10, 0, 0, 0, Set.of("ssd"), true),
                new NodeLoad("full", 3, 3, 0, 0, Set.of("ssd"), false),
                new NodeLoad("plain", 10, 0, 0, 0, Set.of(), false),
                new NodeLoad("fast", 10, 9, 0, 0, Set.of("ssd", "eu"), false));
        Placement.Plan plan = Placement.place(nodes, List.of(new TenantDemand("db", 0, Set.of("ssd")),
                new TenantDemand("db2", 0, Set.of("ssd")), tenant("web")));
        assertThat(plan.nodeOfTenant()).containsEntry("db", "fast").containsEntry("web", "plain");
        assertThat(plan.unplaceable()).containsExactly("db2"); // fast is full after db
    }

    @Test
    void thirtyTenantsOnThreeEqualNodesSpreadTenEach() {
        List<TenantDemand> tenants = new ArrayList<>();
        for (int i = 0; i < 30; i++) tenants.add(tenant("t" + i));
        Placement.Plan plan = Placement.place(List.of(node("n1", 12, 0), node("n2", 12, 0), node("n3", 12, 0)), tenants);
        Map<String, Integer> perNode = new HashMap<>();
        plan.nodeOfTenant().values().forEach(n -> perNode.merge(n, 1, Integer::sum));
        assertThat(perNode).containsExactlyInAnyOrderEntriesOf(Map.of("n1", 10, "n2", 10, "n3", 10));
    }

    /** Random fleets and batches: the bounds hold, nothing is placed twice, refusals are justified. */
    @Test
    void propertiesHoldOverRandomFleets() {
        Random random = new Random(20261208);
        List<String> labelPool = List.of("ssd", "eu", "us", "gpu");
        for (int round = 0; round < 2000; round++) {
            List<NodeLoad> nodes = new ArrayList<>();
            int nodeCount = 1 + random.nextInt(6);
            for (int i = 0; i < nodeCount; i++) {
                int max = random.nextInt(8);
                long memory = random.nextBoolean() ? 0 : (1 + random.nextInt(16)) * GIB;
                int tenants = max == 0 ? 0 : random.nextInt(max + 1);
                long committed = memory == 0 ? 0 : Math.min(memory, tenants * (long) random.nextInt(2) * GIB);
                nodes.add(new NodeLoad("n" + i, max, tenants, memory, committed, randomLabels(random, labelPool),
                        random.nextInt(5) == 0));
            }
            List<TenantDemand> tenants = new ArrayList<>();
            for (int i = 0, n = random.nextInt(20); i < n; i++) {
                tenants.add(new TenantDemand("t" + i, random.nextInt(3) * GIB / 2,
                        random.nextInt(3) == 0 ? randomLabels(random, labelPool) : Set.of()));
            }
            check(nodes, tenants, Placement.place(nodes, tenants));
        }
    }

    private static Set<String> randomLabels(Random random, List<String> pool) {
        Set<String> labels = new HashSet<>();
        for (String label : pool) if (random.nextInt(3) == 0) labels.add(label);
        return labels;
    }

    private static void check(List<NodeLoad> nodes, List<TenantDemand> tenants, Placement.Plan plan) {
        Map<String, NodeLoad> after = new HashMap<>();
        nodes.forEach(n -> after.put(n.name(), n));
        Set<String> seen = new HashSet<>();
        for (TenantDemand tenant : tenants) {
            String node = plan.nodeOfTenant().get(tenant.name());
            boolean refused = plan.unplaceable().contains(tenant.name());
            assertThat(node != null ^ refused).as("%s placed exactly once or refused", tenant.name()).isTrue();
            assertThat(seen.add(tenant.name())).isTrue();
            if (node == null) continue;
            NodeLoad before = after.get(node);
            assertThat(before.cordoned()).as("placed on a cordoned node").isFalse();
            assertThat(before.labels()).containsAll(tenant.requiredLabels());
            after.put(node, before.with(tenant));
        }
        for (NodeLoad original : nodes) {
            NodeLoad end = after.get(original.name());
            if (end.tenants() > original.tenants()) {
                assertThat(end.tenants()).as("tenants on %s", end.name()).isLessThanOrEqualTo(end.maxTenants());
                if (end.memoryBytes() > 0) assertThat(end.memoryCommitted()).isLessThanOrEqualTo(end.memoryBytes());
            }
        }
        for (String refused : plan.unplaceable()) {
            TenantDemand tenant = tenants.stream().filter(t -> t.name().equals(refused)).findFirst().orElseThrow();
            assertThat(after.values()).as("a node could still take refused %s", refused)
                    .noneMatch(n -> n.accepts(tenant));
        }
    }
}
