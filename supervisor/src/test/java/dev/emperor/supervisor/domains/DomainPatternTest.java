package dev.emperor.supervisor.domains;

import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.proxy.SiteTable;
import dev.emperor.proxy.TenantSite;
import dev.emperor.proxy.Upstream;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DomainPatternTest {

    @Test
    void namesCompareInLowerCaseWithoutTheTrailingDot() {
        assertThat(DomainPattern.normalize(" Shop.Example. ")).isEqualTo("shop.example");
        assertThat(DomainPattern.normalize("*.SHOP.example.")).isEqualTo("*.shop.example");
    }

    @Test
    void anExactNameMatchesOnlyItself() {
        assertThat(DomainPattern.matches("shop.example", "shop.example")).isTrue();
        assertThat(DomainPattern.matches("shop.example", "api.shop.example")).isFalse();
        assertThat(DomainPattern.contains("shop.example", "shop.example")).isTrue();
        assertThat(DomainPattern.contains("shop.example", "*.shop.example")).isFalse();
    }

    @Test
    void aWildcardMatchesEveryNameStrictlyBelowItsBaseAtAnyDepth() {
        assertThat(DomainPattern.matches("*.shop.example", "api.shop.example")).isTrue();
        assertThat(DomainPattern.matches("*.shop.example", "a.b.shop.example")).isTrue();
        assertThat(DomainPattern.matches("*.shop.example", "shop.example")).isFalse();
        assertThat(DomainPattern.matches("*.shop.example", "myshop.example")).isFalse();
        assertThat(DomainPattern.matches("*.shop.example", "xshop.example")).isFalse();
    }

    @Test
    void overlapIsSharingAHostName() {
        assertThat(DomainPattern.overlaps("*.shop.example", "api.shop.example")).isTrue();
        assertThat(DomainPattern.overlaps("api.shop.example", "*.shop.example")).isTrue();
        assertThat(DomainPattern.overlaps("*.shop.example", "*.eu.shop.example")).isTrue();
        assertThat(DomainPattern.overlaps("*.example", "*.shop.example")).isTrue();
        assertThat(DomainPattern.overlaps("*.shop.example", "*.shop.example")).isTrue();
        assertThat(DomainPattern.overlaps("*.shop.example", "shop.example")).isFalse();
        assertThat(DomainPattern.overlaps("*.shop.example", "*.myshop.example")).isFalse();
        assertThat(DomainPattern.overlaps("a.example", "b.example")).isFalse();
    }

    @Test
    void containmentIsEveryNameOfTheInnerPatternMatchedByTheOuter() {
        assertThat(DomainPattern.contains("*.platform.example", "shop.platform.example")).isTrue();
        assertThat(DomainPattern.contains("*.platform.example", "*.shop.platform.example")).isTrue();
        assertThat(DomainPattern.contains("*.platform.example", "*.platform.example")).isTrue();
        assertThat(DomainPattern.contains("*.shop.platform.example", "*.platform.example")).isFalse();
        assertThat(DomainPattern.contains("*.platform.example", "platform.example")).isFalse();
        assertThat(DomainPattern.contains("*.platform.example", "evilplatform.example")).isFalse();
    }

    /**
     * The rule agrees with the proxy's own routing: for random patterns and hosts, a host is
     * matched by a pattern exactly when a SiteTable holding only that pattern routes it; and two
     * patterns overlap exactly when some host (among those built from their labels) is routed by both.
     */
    @Test
    void agreesWithTheProxysSiteTableOnRandomNames() {
        Random random = new Random(14);
        String[] labels = {"a", "b", "shop", "example"};
        for (int i = 0; i < 3000; i++) {
            String pattern = randomPattern(random, labels);
            String other = randomPattern(random, labels);
            String host = randomName(random, labels, 1 + random.nextInt(4));
            assertThat(DomainPattern.matches(pattern, host)).as("%s matches %s", pattern, host)
                    .isEqualTo(routes(pattern, host));
            boolean shared = false;
            // the deepest of the two, with one more label in front, is a host both match if any is
            for (String candidate : List.of(DomainPattern.base(pattern), DomainPattern.base(other),
                    "z." + DomainPattern.base(pattern), "z." + DomainPattern.base(other))) {
                shared |= routes(pattern, candidate) && routes(other, candidate);
            }
            assertThat(DomainPattern.overlaps(pattern, other)).as("%s overlaps %s", pattern, other).isEqualTo(shared);
        }
    }

    private static String randomPattern(Random random, String[] labels) {
        String name = randomName(random, labels, 1 + random.nextInt(3));
        return random.nextBoolean() ? "*." + name : name;
    }

    private static String randomName(Random random, String[] labels, int count) {
        StringBuilder name = new StringBuilder();
        for (int i = 0; i < count; i++) {
            if (i > 0) name.append('.');
            name.append(labels[random.nextInt(labels.length)]);
        }
        return name.toString();
    }

    private static boolean routes(String pattern, String host) {
        TenantSite site = new TenantSite("t", List.of(pattern), new Upstream.UnixSocket(Path.of("/x")), null, false, false,
                1, 1);
        return SiteTable.build(List.of(site)).table().find(host) != null;
    }
}
