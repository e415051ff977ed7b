package dev.emperor.tunrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class CidrTest {
    @Test
    void addressWithoutMaskIsASingleAddress() {
        Cidr cidr = Cidr.parse("192.168.0.1");
        assertThat(cidr.prefixLength()).isEqualTo(32);
        assertThat(cidr.contains(Cidr.parseAddress("192.168.0.1"))).isTrue();
        assertThat(cidr.contains(Cidr.parseAddress("192.168.0.2"))).isFalse();
    }

    @Test
    void maskSelectsTheBlockAndClearsHostBits() {
        Cidr cidr = Cidr.parse("10.1.2.3/8");
        assertThat(cidr).hasToString("10.0.0.0/8");
        assertThat(cidr.contains(Cidr.parseAddress("10.255.255.255"))).isTrue();
        assertThat(cidr.contains(Cidr.parseAddress("11.0.0.0"))).isFalse();
        assertThat(cidr.last()).isEqualTo(Cidr.parseAddress("10.255.255.255"));
    }

    @Test
    void slashZeroContainsEverything() {
        Cidr cidr = Cidr.parse("1.2.3.4/0");
        assertThat(cidr.contains(0)).isTrue();
        assertThat(cidr.contains(-1)).isTrue();
    }

    @Test
    void formatsHighAddressesUnsigned() {
        assertThat(Cidr.format(Cidr.parseAddress("255.254.253.252"))).isEqualTo("255.254.253.252");
    }

    @Test
    void badTextIsNamedInTheError() {
        assertThatThrownBy(() -> Cidr.parse("10.0.0/8")).hasMessageContaining("'10.0.0'");
        assertThatThrownBy(() -> Cidr.parse("10.0.0.256")).hasMessageContaining("256 is above 255");
        assertThatThrownBy(() -> Cidr.parse("10.0.0.01")).hasMessageContaining("bad part '01'");
        assertThatThrownBy(() -> Cidr.parse("10.0.0.0/33")).hasMessageContaining("'10.0.0.0/33'").hasMessageContaining("/33");
        assertThatThrownBy(() -> Cidr.parse("10.0.0.0/")).hasMessageContaining("mask");
        assertThatThrownBy(() -> Cidr.parse("10.0.0.0/-1")).hasMessageContaining("mask");
        assertThatThrownBy(() -> Cidr.parse("a.b.c.d")).hasMessageContaining("'a.b.c.d'");
        assertThatThrownBy(() -> Cidr.parse("")).hasMessageContaining("''");
    }
}
