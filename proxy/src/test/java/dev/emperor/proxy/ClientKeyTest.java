package dev.emperor.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

class ClientKeyTest {

    private static ClientKey of(String ip) throws Exception {
        return ClientKey.of(new InetSocketAddress(InetAddress.getByName(ip), 1234));
    }

    @Test
    void anIpv6ClientIsItsSlash64AndAMappedIpv4AddressIsItsIpv4Address() throws Exception {
        assertThat(of("2001:db8:1:2::1")).isEqualTo(of("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assertThat(of("2001:db8:1:2::1")).isNotEqualTo(of("2001:db8:1:3::1"));
        assertThat(of("2001:db8:1:2::1")).hasToString("2001:db8:1:2::/64");
        assertThat(of("::ffff:192.0.2.7")).isEqualTo(of("192.0.2.7")).hasToString("192.0.2.7");
        assertThat(of("192.0.2.7")).isNotEqualTo(of("192.0.2.8"));
        assertThat(of("::")).isNotEqualTo(of("0.0.0.0"));
    }

    @Test
    void theTotalKeepsTwoDescriptorsPerConnectionAndAReserve() {
        assertThat(ConnectionLimits.totalFor(1_048_576)).isEqualTo((1_048_576 - 131_072) / 2);
        assertThat(ConnectionLimits.totalFor(20_000)).isEqualTo((20_000 - 4096) / 2);
        assertThat(ConnectionLimits.totalFor(1024)).isEqualTo(64);
        // each tenant keeps descriptors of its own: 1000 tenants, 16,000 fewer for connections
        assertThat(ConnectionLimits.totalFor(1_048_576, 1000)).isEqualTo((1_048_576 - 131_072 - 16_000) / 2);
        assertThat(ConnectionLimits.totalFor(20_000, 100)).isEqualTo((20_000 - 4096 - 1600) / 2);
        assertThat(ConnectionLimits.totalFor(5000, 1000)).isEqualTo(64);
        ConnectionLimits limits = new ConnectionLimits(256, 64, 800);
        assertThat(limits.perClientOn(512)).isEqualTo(64);
        assertThat(limits.perClientOn(10)).isEqualTo(5);
        assertThat(limits.perClientOn(1)).isEqualTo(1);
        assertThat(limits.shedAt()).isEqualTo(700);
    }
}
