package dev.emperor.supervisor.domains;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.emperor.supervisor.state.DomainClaim;
import dev.emperor.supervisor.state.StateStore;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Domain ownership over a real state database (SQLite in a temporary directory). */
class DomainOwnershipTest {
    @TempDir
    Path stateDir;
    private StateStore store;
    private List<String> allow = List.of();
    private DomainOwnership domains;

    @BeforeEach
    void open() throws Exception {
        store = StateStore.open(stateDir);
        domains = new DomainOwnership(store, () -> allow, Clock.systemUTC());
    }

    @AfterEach
    void close() {
        store.close();
    }

    /** A restarted emperor: a new ledger over the same database. */
    private void restart() throws Exception {
        store.close();
        open();
    }

    @Test
    void aNameAnotherTenantHoldsIsRefusedNamingTheOwnerAndTheOwnerKeepsIt() {
        assertThat(domains.reconcile("shop", List.of("shop.example")).held()).containsExactly("shop.example");
        DomainOwnership.Outcome evil = domains.reconcile("evil", List.of("Shop.Example.", "evil.example"));
        assertThat(evil.held()).containsExactly("evil.example");
        assertThat(evil.refused()).singleElement().satisfies(r -> {
            assertThat(r.name()).isEqualTo("shop.example");
            assertThat(r.owner()).isEqualTo("shop");
            assertThat(r.toString()).contains("already served by tenant shop");
        });
        assertThat(domains.heldBy("shop")).containsExactly("shop.example");
    }

    @Test
    void theFirstClaimWinsAcrossRestartsWhateverOrderFilesAreReadIn() throws Exception {
        domains.reconcile("shop", List.of("shop.example"));
        domains.reconcile("evil", List.of("shop.example"));
        restart();
        // evil's file is read first this time (alphabetical order)
        assertThat(domains.reconcile("evil", List.of("shop.example")).refused()).extracting(DomainOwnership.Refusal::owner)
                .containsExactly("shop");
        assertThat(domains.reconcile("shop", List.of("shop.example")).held()).containsExactly("shop.example");
        assertThat(store.domains().claims()).extracting(DomainClaim::owner).containsExactly("shop");
    }

    @Test
    void wildcardsAndNamesBelowThemExcludeEachOtherBothWays() {
        domains.reconcile("a", List.of("api.shop.example"));
        DomainOwnership.Outcome wide = domains.reconcile("b", List.of("*.shop.example"));
        assertThat(wide.refused()).singleElement().satisfies(r -> {
            assertThat(r.owner()).isEqualTo("a");
            assertThat(r.reason()).contains("covers api.shop.example");
        });
        domains.reconcile("c", List.of("*.blog.example"));
        DomainOwnership.Outcome below = domains.reconcile("b", List.of("x.y.blog.example", "*.eu.blog.example"));
        assertThat(below.held()).isEmpty();
        assertThat(below.refused()).allSatisfy(r -> {
            assertThat(r.owner()).isEqualTo("c");
            assertThat(r.reason()).contains("covered by *.blog.example");
        });
        // the base name itself is not below the wildcard: free to claim
        assertThat(domains.reconcile("b", List.of("blog.example")).held()).containsExactly("blog.example");
        assertThat(domains.heldBy("a")).containsExactly("api.shop.example");
        assertThat(domains.heldBy("c")).containsExactly("*.blog.example");
    }

    @Test
    void aTenantMayHoldAWildcardAndNamesBelowIt() {
        assertThat(domains.reconcile("a", List.of("*.shop.example", "api.shop.example", "shop.example")).held())
                .containsExactly("*.shop.example", "api.shop.example", "shop.example");
    }

    @Test
    void aNameIsReleasedWhenTheOwnersFileDropsItOrTheOwnerLeaves() {
        domains.reconcile("a", List.of("shop.example", "blog.example"));
        assertThat(domains.reconcile("b", List.of("shop.example")).refused()).hasSize(1);
        DomainOwnership.Outcome dropped = domains.reconcile("a", List.of("blog.example"));
        assertThat(dropped.released()).containsExactly("shop.example");
        assertThat(domains.reconcile("b", List.of("shop.example")).claimed()).containsExactly("shop.example");

        assertThat(domains.releaseTenant("a")).containsExactly("blog.example");
        assertThat(domains.reconcile("b", List.of("shop.example", "blog.example")).held())
                .containsExactly("shop.example", "blog.example");
    }

    @Test
    void theOperatorTransfersANameAndTheNamesItCovers() throws Exception {
        domains.reconcile("a", List.of("*.shop.example", "api.shop.example", "other.example"));
        assertThatThrownBy(() -> domains.transfer("api.shop.example", "a", "b"))
                .hasMessageContaining("*.shop.example covers api.shop.example");
        assertThatThrownBy(() -> domains.transfer("*.shop.example", "b", "c")).hasMessageContaining("held by tenant a, not b");
        assertThatThrownBy(() -> domains.transfer("nobody.example", "a", "b")).hasMessageContaining("held by no tenant");
        assertThat(domains.transfer("*.SHOP.example", "a", "b")).containsExactlyInAnyOrder("*.shop.example", "api.shop.example");
        restart();
        assertThat(domains.heldBy("b")).containsExactly("*.shop.example", "api.shop.example");
        assertThat(domains.heldBy("a")).containsExactly("other.example");
        // a's file still names them: now refused, owner b
        assertThat(domains.reconcile("a", List.of("*.shop.example", "other.example")).refused())
                .extracting(DomainOwnership.Refusal::owner).containsExactly("b");
    }

    @Test
    void domainAllowNeedsAnApprovalForNamesOutsideIt() throws Exception {
        allow = List.of("*.platform.example");
        assertThat(domains.reconcile("a", List.of("a.platform.example", "*.a.platform.example")).held()).hasSize(2);
        DomainOwnership.Outcome outside = domains.reconcile("a", List.of("a.platform.example", "*.a.platform.example",
                "shop.example", "platform.example"));
        assertThat(outside.refused()).extracting(DomainOwnership.Refusal::name).containsExactly("shop.example", "platform.example");
        assertThat(outside.refused().get(0).toString()).contains("outside domain-allow")
                .contains("emperor domain approve shop.example a");

        domains.approve("shop.example", "a");
        restart();
        assertThat(domains.reconcile("a", List.of("shop.example")).held()).containsExactly("shop.example");
        // approved for a only
        assertThat(domains.reconcile("b", List.of("x.shop.example")).refused()).hasSize(1);

        assertThat(domains.revoke("shop.example", "a")).containsExactly("shop.example");
        assertThat(domains.reconcile("a", List.of("shop.example")).refused()).hasSize(1);
        assertThatThrownBy(() -> domains.revoke("shop.example", "a")).hasMessageContaining("no approval");
    }

    @Test
    void namesHeldBeforeAPolicyStayHeld() {
        domains.reconcile("a", List.of("shop.example"));
        allow = List.of("*.platform.example");
        assertThat(domains.reconcile("a", List.of("shop.example")).held()).containsExactly("shop.example");
    }

    /**
     * A model of the rules, checked by brute force against the indexed ledger over random
     * sequences of file changes, removals, transfers and restarts: same owners, same refusals
     * (with the same owner named), and no two tenants ever on overlapping names.
     */
    @Test
    void randomClaimsReleasesTransfersAndRestartsFollowTheModel() throws Exception {
        String[] patterns = {"x.example", "a.x.example", "b.x.example", "a.a.x.example", "*.x.example", "*.a.x.example",
            "*.example", "y.example", "*.y.example", "z.y.example"};
        String[] tenants = {"t0", "t1", "t2", "t3"};
        Random random = new Random(1414);
        Map<String, String> model = new HashMap<>();
        for (int step = 0; step < 1500; step++) {
            String tenant = tenants[random.nextInt(tenants.length)];
            int op = random.nextInt(10);
            if (op < 7) {
                Set<String> wanted = new LinkedHashSet<>();
                for (int i = random.nextInt(4); i > 0; i--) wanted.add(patterns[random.nextInt(patterns.length)]);
                DomainOwnership.Outcome outcome = domains.reconcile(tenant, List.copyOf(wanted));
                model.entrySet().removeIf(e -> e.getValue().equals(tenant) && !wanted.contains(e.getKey()));
                List<String> refused = new ArrayList<>();
                for (String name : wanted) {
                    if (tenant.equals(model.get(name))) continue;
                    String owner = model.entrySet().stream().filter(e -> !e.getValue().equals(tenant)
                            && DomainPattern.overlaps(e.getKey(), name)).map(Map.Entry::getValue).findFirst().orElse(null);
                    if (owner == null) model.put(name, tenant);
                    else refused.add(name);
                }
                assertThat(outcome.refused()).extracting(DomainOwnership.Refusal::name).as("step %d", step)
                        .containsExactlyElementsOf(refused);
                for (DomainOwnership.Refusal r : outcome.refused()) {
                    assertThat(DomainPattern.overlaps(r.name(), model.entrySet().stream()
                            .filter(e -> e.getValue().equals(r.owner())).map(Map.Entry::getKey)
                            .filter(n -> DomainPattern.overlaps(n, r.name())).findFirst().orElse("none.invalid")))
                            .as("step %d: the named owner %s holds a name overlapping %s", step, r.owner(), r.name()).isTrue();
                }
            } else if (op == 7) {
                domains.releaseTenant(tenant);
                model.values().removeIf(tenant::equals);
            } else if (op == 8) {
                List<String> held = domains.heldBy(tenant);
                if (held.isEmpty()) continue;
                String name = held.get(random.nextInt(held.size()));
                String to = tenants[random.nextInt(tenants.length)];
                boolean coveredByOwnWildcard = held.stream().anyMatch(h -> !DomainPattern.contains(name, h)
                        && DomainPattern.overlaps(name, h));
                if (to.equals(tenant) || coveredByOwnWildcard) {
                    assertThatThrownBy(() -> domains.transfer(name, tenant, to)).isInstanceOf(DomainOwnership.Refused.class);
                } else {
                    domains.transfer(name, tenant, to);
                    model.replaceAll((n, owner) -> owner.equals(tenant) && DomainPattern.contains(name, n) ? to : owner);
                }
            } else {
                restart();
            }
            Map<String, String> actual = new HashMap<>();
            for (DomainClaim claim : domains.claims()) actual.put(claim.name(), claim.owner());
            assertThat(actual).as("step %d", step).isEqualTo(model);
            for (DomainClaim c : domains.claims()) {
                for (DomainClaim d : domains.claims()) {
                    if (!c.owner().equals(d.owner())) {
                        assertThat(DomainPattern.overlaps(c.name(), d.name())).as("%s vs %s", c, d).isFalse();
                    }
                }
            }
        }
    }
}
