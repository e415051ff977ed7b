package dev.emperor.supervisor.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Domain claims and approvals as stored; the rules about who may claim what are DomainOwnership's. */
class DomainStoreTest {
    private static final Instant T0 = Instant.parse("2031-01-01T00:00:00Z");

    @TempDir
    Path tmp;

    StateStore store;

    @BeforeEach
    void open() throws Exception {
        store = StateStore.open(tmp.resolve("state"));
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void claimsSurviveReopeningOldestFirstAndANameHasOneHolder() throws Exception {
        store.domains().claim(new DomainClaim("b.example", "blog", T0.plusSeconds(5)));
        store.domains().claim(new DomainClaim("a.example", "shop", T0.plusSeconds(5)));
        store.domains().claim(new DomainClaim("z.example", "shop", T0));
        assertThatThrownBy(() -> store.domains().claim(new DomainClaim("a.example", "blog", T0.plusSeconds(9))))
                .isInstanceOf(StateException.class)
                .hasMessageContaining("claiming domain a.example for blog");
        store.close();

        store = StateStore.open(tmp.resolve("state"));
        assertThat(store.domains().claims()).containsExactly(
                new DomainClaim("z.example", "shop", T0),
                new DomainClaim("a.example", "shop", T0.plusSeconds(5)),
                new DomainClaim("b.example", "blog", T0.plusSeconds(5)));
    }

    @Test
    void releasingLeavesAnotherTenantsClaimAlone() {
        store.domains().claim(new DomainClaim("a.example", "shop", T0));
        store.domains().claim(new DomainClaim("b.example", "blog", T0));
        store.domains().release("shop", List.of("a.example", "b.example"));
        assertThat(store.domains().claims()).extracting(DomainClaim::name).containsExactly("b.example");
    }

    @Test
    void aTransferIsAllOrNothing() {
        store.domains().claim(new DomainClaim("a.example", "shop", T0));
        store.domains().claim(new DomainClaim("b.example", "blog", T0));
        assertThatThrownBy(() -> store.domains().transfer(List.of("a.example", "b.example"), "shop", "new", T0.plusSeconds(1)))
                .isInstanceOf(StateException.class)
                .hasMessageContaining("domain b.example is not held by shop");
        assertThat(store.domains().claims()).extracting(DomainClaim::owner).containsExactly("shop", "blog");

        store.domains().transfer(List.of("a.example"), "shop", "new", T0.plusSeconds(1));
        assertThat(store.domains().claims()).contains(new DomainClaim("a.example", "new", T0.plusSeconds(1)));
    }

    @Test
    void anApprovalKeepsItsFirstTimeAndIsRevokedOnce() {
        store.domains().approve(new DomainApproval("*.example", "shop", T0));
        store.domains().approve(new DomainApproval("*.example", "shop", T0.plusSeconds(60)));
        store.domains().approve(new DomainApproval("*.example", "blog", T0.plusSeconds(1)));
        assertThat(store.domains().approvals()).containsExactly(
                new DomainApproval("*.example", "shop", T0), new DomainApproval("*.example", "blog", T0.plusSeconds(1)));

        assertThat(store.domains().revokeApproval("*.example", "shop")).isTrue();
        assertThat(store.domains().revokeApproval("*.example", "shop")).as("nothing left to revoke").isFalse();
        assertThat(store.domains().approvals()).extracting(DomainApproval::tenant).containsExactly("blog");
    }
}
