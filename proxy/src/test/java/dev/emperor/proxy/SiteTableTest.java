package dev.emperor.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class SiteTableTest {

    private static TenantSite site(String tenant, String... domains) {
        return new TenantSite(tenant, List.of(domains), new Upstream.UnixSocket(Path.of("/run/" + tenant)),
                null, false, false, 1 << 20, 100);
    }

    @Test
    void exactNameWinsOverWildcardAndMostSpecificWildcardWins() {
        SiteTable table = SiteTable.build(List.of(
                site("wide", "*.x.com"), site("narrow", "*.a.x.com"), site("exact", "b.a.x.com"))).table();
        assertThat(table.find("b.a.x.com").tenant()).isEqualTo("exact");
        assertThat(table.find("c.a.x.com").tenant()).isEqualTo("narrow");
        assertThat(table.find("deep.c.a.x.com").tenant()).isEqualTo("narrow");
        assertThat(table.find("q.x.com").tenant()).isEqualTo("wide");
        assertThat(table.find("x.com")).isNull(); // a wildcard never covers the bare name
    }

    @Test
    void hostIsNormalisedCasePortAndTrailingDot() {
        SiteTable table = SiteTable.build(List.of(site("shop", "shop.example"))).table();
        assertThat(table.find("SHOP.Example:8080").tenant()).isEqualTo("shop");
        assertThat(table.find("shop.example.").tenant()).isEqualTo("shop");
        assertThat(table.find("shop.example.:80").tenant()).isEqualTo("shop");
    }

    @Test
    void malformedHostsMatchNothing() {
        SiteTable table = SiteTable.build(List.of(site("shop", "shop.example"))).table();
        for (String bad : List.of("", "shop.example:", "shop.example:x", "shop..example", "shop.example/x",
                "shop example", "[::1]", "shop.example:123456", "user@shop.example")) {
            assertThat(table.find(bad)).as(bad).isNull();
        }
        assertThat(table.find(null)).isNull();
    }

    @Test
    void aNameClaimedTwiceStaysWithTheFirstAndTheConflictNamesBoth() {
        SiteTable.Built built = SiteTable.build(List.of(
                site("first", "a.com", "*.w.com"), site("second", "b.com", "A.com", "*.w.com")));
        assertThat(built.table().find("a.com").tenant()).isEqualTo("first");
        assertThat(built.table().find("z.w.com").tenant()).isEqualTo("first");
        assertThat(built.table().find("b.com").tenant()).isEqualTo("second");
        assertThat(built.conflicts()).containsExactly(
                new SiteTable.Conflict("a.com", "first", "second"),
                new SiteTable.Conflict("*.w.com", "first", "second"));
        assertThat(built.conflicts().get(0).toString()).contains("a.com", "first", "second");
    }
}
