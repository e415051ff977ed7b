package dev.emperor.tunrouter;

import static dev.emperor.tunrouter.Packets.ip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** Which of the platform's bound listeners tenants may reach at the host's addresses (hairpin). */
class PublicListenerTest {

    private static InetSocketAddress bound(String literal, int port) throws Exception {
        return new InetSocketAddress(InetAddress.getByName(literal), port);
    }

    @Test
    void aWildcardListenerIsEveryAddressOfTheHostAndASpecificOneOnlyItsOwn() throws Exception {
        assertThat(PublicListener.reachableByTenants(bound("0.0.0.0", 80)))
                .contains(new PublicListener(PublicListener.EVERY_ADDRESS, 80));
        // [::] takes IPv4 too (bindv6only is off by default)
        assertThat(PublicListener.reachableByTenants(bound("::", 443)))
                .contains(new PublicListener(PublicListener.EVERY_ADDRESS, 443));
        assertThat(PublicListener.reachableByTenants(bound("203.0.113.5", 8443)))
                .contains(new PublicListener(ip("203.0.113.5"), 8443));
        assertThat(PublicListener.reachableByTenants(bound("::ffff:203.0.113.5", 8443)))
                .contains(new PublicListener(ip("203.0.113.5"), 8443));
    }

    @Test
    void theHostsLoopbackAndIpv6AddressesAreNeverOpenedToTenants() throws Exception {
        assertThat(PublicListener.reachableByTenants(bound("127.0.0.1", 80))).isEmpty();
        assertThat(PublicListener.reachableByTenants(bound("127.3.4.5", 80))).isEmpty();
        assertThat(PublicListener.reachableByTenants(bound("::1", 80))).isEmpty();
        assertThat(PublicListener.reachableByTenants(bound("2001:db8::1", 80))).isEmpty();
        assertThat(PublicListener.reachableByTenants(InetSocketAddress.createUnresolved("example.com", 80))).isEmpty();
    }

    @Test
    void aPortOutsideTheRangeIsRefused() {
        assertThatThrownBy(() -> new PublicListener(0, 0)).hasMessageContaining("port 0");
        assertThatThrownBy(() -> new PublicListener(0, 65536)).hasMessageContaining("port 65536");
        assertThat(new PublicListener(ip("203.0.113.5"), 80)).hasToString("203.0.113.5:80");
        assertThat(new PublicListener(PublicListener.EVERY_ADDRESS, 80)).hasToString("*:80");
    }
}
