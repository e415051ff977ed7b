package dev.emperor.tunrouter;

import static dev.emperor.tunrouter.Packets.ip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AddressPoolTest {
    private final InMemoryAddressStore store = new InMemoryAddressStore();

    @Test
    void firstTenantGetsTheAddressAfterTheGateway() {
        AddressPool pool = new AddressPool(TenantSubnet.parse("10.200.0.0/16"), store);
        assertThat(pool.subnet().gateway()).isEqualTo(ip("10.200.0.1"));
        assertThat(pool.addressFor("alice")).isEqualTo(ip("10.200.0.2"));
        assertThat(pool.addressFor("bob")).isEqualTo(ip("10.200.0.3"));
        assertThat(store.byTenant).containsEntry("alice", ip("10.200.0.2"));
    }

    @Test
    void aTenantKeepsItsAddressAcrossCallsAndRestarts() {
        AddressPool pool = new AddressPool(TenantSubnet.parse("10.200.0.0/16"), store);
        int alice = pool.addressFor("alice");
        pool.addressFor("bob");
        assertThat(pool.addressFor("alice")).isEqualTo(alice);
        AddressPool restarted = new AddressPool(TenantSubnet.parse("10.200.0.0/16"), store);
        assertThat(restarted.addressFor("alice")).isEqualTo(alice);
        assertThat(restarted.addressFor("carol")).isEqualTo(ip("10.200.0.4"));
    }

    @Test
    void anAddressIsNeverGivenAgainEvenAfterItsTenantIsGone() {
        AddressPool pool = new AddressPool(TenantSubnet.parse("10.200.0.0/16"), store);
        int alice = pool.addressFor("alice");
        store.forget("alice");
        AddressPool restarted = new AddressPool(TenantSubnet.parse("10.200.0.0/16"), store);
        assertThat(restarted.addressFor("mallory")).isNotEqualTo(alice);
        assertThat(restarted.addressFor("alice")).isNotEqualTo(alice);
    }

    @Test
    void neverGivesNetworkGatewayOrBroadcastAndFailsClearlyWhenExhausted() {
        AddressPool pool = new AddressPool(TenantSubnet.parse("192.168.7.0/29"), store);
        Set<Integer> given = new HashSet<>();
        for (int i = 0; i < 5; i++) {
            given.add(pool.addressFor("t" + i));
        }
        assertThat(given).containsExactlyInAnyOrder(ip("192.168.7.2"), ip("192.168.7.3"), ip("192.168.7.4"),
                ip("192.168.7.5"), ip("192.168.7.6"));
        assertThatThrownBy(() -> pool.addressFor("t5"))
                .isInstanceOf(AddressPoolExhaustedException.class)
                .hasMessageContaining("192.168.7.0/29")
                .hasMessageContaining("all 5 tenant addresses")
                .hasMessageContaining("never reused");
        assertThat(pool.addressFor("t0")).isEqualTo(ip("192.168.7.2"));
    }

    @Test
    void skipsAddressesRecordedBeforeRestartInAnyOrder() {
        store.record("old", ip("10.200.0.2"));
        store.record("other", ip("10.200.0.4"));
        store.record("elsewhere", ip("172.16.0.9"));
        AddressPool pool = new AddressPool(TenantSubnet.parse("10.200.0.0/16"), store);
        assertThat(pool.addressFor("a")).isEqualTo(ip("10.200.0.3"));
        assertThat(pool.addressFor("b")).isEqualTo(ip("10.200.0.5"));
    }

    @Test
    void aRecordedAddressOutsideTheSubnetIsAClearError() {
        store.record("old", ip("172.16.0.9"));
        AddressPool pool = new AddressPool(TenantSubnet.parse("10.200.0.0/16"), store);
        assertThatThrownBy(() -> pool.addressFor("old"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("'old'").hasMessageContaining("172.16.0.9").hasMessageContaining("10.200.0.0/16");
    }

    @Test
    void largeSubnetHoldsThousandsOfTenants() {
        AddressPool pool = new AddressPool(TenantSubnet.parse("10.200.0.0/16"), store);
        assertThat(pool.subnet().capacity()).isEqualTo(65533);
        for (int i = 0; i < 5000; i++) {
            pool.addressFor("tenant-" + i);
        }
        assertThat(Set.copyOf(store.byTenant.values())).hasSize(5000);
        assertThat(pool.addressFor("tenant-4999")).isEqualTo(ip("10.200.0.2") + 4999);
    }

    @Test
    void subnetErrorsSayWhatIsWrong() {
        assertThatThrownBy(() -> TenantSubnet.parse("10.200.0.5/16")).hasMessageContaining("did you mean 10.200.0.0/16");
        assertThatThrownBy(() -> TenantSubnet.parse("10.200.0.0")).hasMessageContaining("needs a prefix length");
        assertThatThrownBy(() -> TenantSubnet.parse("10.200.0.0/31")).hasMessageContaining("from /8 to /30");
        assertThatThrownBy(() -> TenantSubnet.parse("10.0.0.0/7")).hasMessageContaining("from /8 to /30");
        assertThatThrownBy(() -> new AddressPool(TenantSubnet.parse("10.0.0.0/30"), store).addressFor(""))
                .hasMessageContaining("empty");
    }
}
