package dev.emperor.proxy.l4;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class ForwardOptionsTest {

    @Test
    void exactDomainsMatchOnlyThemselvesWhateverTheCaseInTheFile() {
        ForwardOptions o = ForwardOptions.tls(List.of("Shop.Example.com"));
        assertThat(o.allows("shop.example.com")).isTrue();
        assertThat(o.allows("www.shop.example.com")).isFalse();
        assertThat(o.allows("example.com")).isFalse();
    }

    @Test
    void aWildcardMatchesNamesBelowItButNotItself() {
        ForwardOptions o = ForwardOptions.tls(List.of("*.example.com"));
        assertThat(o.allows("a.example.com")).isTrue();
        assertThat(o.allows("a.b.example.com")).isTrue();
        assertThat(o.allows("example.com")).isFalse();
        assertThat(o.allows("badexample.com")).isFalse();
    }

    @Test
    void noDomainsAllowNothing() {
        assertThat(ForwardOptions.tls(List.of()).allows("a.example.com")).isFalse();
    }

    @Test
    void limitsAreChecked() {
        assertThatThrownBy(() -> ForwardOptions.tcp().withMaxConnections(0)).hasMessageContaining("maxConnections 0");
    }
}
