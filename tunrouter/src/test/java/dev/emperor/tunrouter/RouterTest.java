package dev.emperor.tunrouter;

import static dev.emperor.tunrouter.Packets.ip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RouterTest {
    private static final TenantSubnet SUBNET = TenantSubnet.parse("10.200.0.0/16");
    private Router router;
    private int alice;
    private int bob;

    @BeforeEach
    void attachTwoTenants() throws FirewallRuleException {
        Firewall firewall = new Firewall(SUBNET, new FirewallRules(
                List.of(FirewallRuleParser.parse("deny 0.0.0.0 0.0.0.0 proto tcp port 25", "emperor.ini:20")),
                List.of()), Verdict.ALLOW);
        router = new Router(firewall, 1500, true);
        alice = router.attach("alice", ip("10.200.0.2"), FirewallRules.NONE);
        bob = router.attach("bob", ip("10.200.0.3"), FirewallRules.NONE);
    }

    @Test
    void tenantTrafficToTheWorldGoesToTheGatewayAndIsCounted() {
        ByteBuffer frame = Packets.tcp("10.200.0.2", "93.184.216.34", 443);
        assertThat(router.fromTenant(alice, frame)).isEqualTo(Router.TO_GATEWAY);
        TenantCounters.Snapshot counters = router.counters(alice).snapshot();
        assertThat(counters.packetsOut()).isEqualTo(1);
        assertThat(counters.bytesOut()).isEqualTo(frame.remaining());
        assertThat(counters.totalDrops()).isZero();
    }

    @Test
    void gatewayTrafficGoesToTheTenantHoldingTheDestinationAndIsCounted() {
        ByteBuffer frame = Packets.tcp("93.184.216.34", "10.200.0.3", 40000);
        assertThat(router.fromGateway(frame)).isEqualTo(bob);
        assertThat(router.counters(bob).snapshot().packetsIn()).isEqualTo(1);
        assertThat(router.counters(bob).snapshot().bytesIn()).isEqualTo(frame.remaining());
        assertThat(router.counters(alice).snapshot().packetsIn()).isZero();
    }

    @Test
    void spoofedSourceIsDroppedAndCounted() {
        int result = router.fromTenant(alice, Packets.tcp("10.200.0.3", "93.184.216.34", 443));
        assertThat(Router.isDrop(result)).isTrue();
        assertThat(Router.dropReason(result)).isEqualTo(DropReason.SPOOFED_SOURCE);
        assertThat(router.fromTenant(alice, Packets.tcp("1.2.3.4", "93.184.216.34", 443))).isEqualTo(result);
        assertThat(router.counters(alice).snapshot().drops(DropReason.SPOOFED_SOURCE)).isEqualTo(2);
        assertThat(router.counters(alice).snapshot().packetsOut()).isZero();
    }

    @Test
    void tenantsNeverReachEachOtherInEitherDirection() {
        assertThat(Router.dropReason(router.fromTenant(alice, Packets.tcp("10.200.0.2", "10.200.0.3", 80))))
                .isEqualTo(DropReason.TENANT_TO_TENANT);
        assertThat(Router.dropReason(router.fromTenant(bob, Packets.tcp("10.200.0.3", "10.200.0.2", 80))))
                .isEqualTo(DropReason.TENANT_TO_TENANT);
        // Not even when the kernel hands one tenant's packet back through the gateway.
        assertThat(Router.dropReason(router.fromGateway(Packets.tcp("10.200.0.2", "10.200.0.3", 80))))
                .isEqualTo(DropReason.TENANT_TO_TENANT);
        // Nor to an address no tenant holds yet, nor to the subnet broadcast.
        assertThat(Router.dropReason(router.fromTenant(alice, Packets.tcp("10.200.0.2", "10.200.9.9", 80))))
                .isEqualTo(DropReason.TENANT_TO_TENANT);
        assertThat(Router.dropReason(router.fromTenant(alice, Packets.udp("10.200.0.2", "10.200.255.255", 9))))
                .isEqualTo(DropReason.TENANT_TO_TENANT);
        assertThat(router.counters(alice).snapshot().drops(DropReason.TENANT_TO_TENANT)).isEqualTo(3);
        assertThat(router.counters(bob).snapshot().drops(DropReason.TENANT_TO_TENANT)).isEqualTo(2);
    }

    @Test
    void tenantMayReachTheGatewayWhenTheRulesAllow() {
        assertThat(router.fromTenant(alice, Packets.udp("10.200.0.2", "10.200.0.1", 53))).isEqualTo(Router.TO_GATEWAY);
        assertThat(router.fromGateway(Packets.udp("10.200.0.1", "10.200.0.2", 40000))).isEqualTo(alice);
    }

    @Test
    void firewallDenialsAreDroppedAndCounted() {
        assertThat(Router.dropReason(router.fromTenant(alice, Packets.tcp("10.200.0.2", "198.51.100.7", 25))))
                .isEqualTo(DropReason.FIREWALL);
        assertThat(Router.dropReason(router.fromTenant(alice, Packets.udp("10.200.0.2", "169.254.169.254", 80))))
                .isEqualTo(DropReason.FIREWALL);
        assertThat(Router.dropReason(router.fromGateway(Packets.udp("224.0.0.251", "10.200.0.2", 5353))))
                .isEqualTo(DropReason.FIREWALL);
        assertThat(router.counters(alice).snapshot().drops(DropReason.FIREWALL)).isEqualTo(3);
    }

    @Test
    void aTenantNeverReceivesPacketsForAnotherAddress() {
        assertThat(Router.dropReason(router.fromGateway(Packets.tcp("1.1.1.1", "10.200.0.77", 80)))).isEqualTo(DropReason.NO_ROUTE);
        assertThat(Router.dropReason(router.fromGateway(Packets.tcp("1.1.1.1", "172.16.0.2", 80)))).isEqualTo(DropReason.NO_ROUTE);
        assertThat(router.unattributed().snapshot().drops(DropReason.NO_ROUTE)).isEqualTo(2);
        assertThat(router.counters(alice).snapshot().packetsIn()).isZero();
        assertThat(router.counters(bob).snapshot().packetsIn()).isZero();
    }

    @Test
    void malformedFramesAreDroppedWithTheirReason() {
        byte[] v6 = Packets.tcp("10.200.0.2", "1.1.1.1", 80).array();
        v6[0] = 0x60;
        assertThat(Router.dropReason(router.fromTenant(alice, ByteBuffer.wrap(v6)))).isEqualTo(DropReason.IPV6_UNSUPPORTED);
        assertThat(Router.dropReason(router.fromTenant(alice, ByteBuffer.allocate(3000)))).isEqualTo(DropReason.TOO_LARGE);
        assertThat(Router.dropReason(router.fromTenant(alice, ByteBuffer.allocate(0)))).isEqualTo(DropReason.TRUNCATED);
        assertThat(Router.dropReason(router.fromGateway(ByteBuffer.wrap(new byte[] {0x45})))).isEqualTo(DropReason.TRUNCATED);
        TenantCounters.Snapshot counters = router.counters(alice).snapshot();
        assertThat(counters.drops()).containsOnlyKeys(DropReason.IPV6_UNSUPPORTED, DropReason.TOO_LARGE, DropReason.TRUNCATED);
        assertThat(router.unattributed().snapshot().drops(DropReason.TRUNCATED)).isEqualTo(1);
    }

    @Test
    void tenantOwnRulesApplyToItsTrafficOnly() throws FirewallRuleException {
        Firewall firewall = new Firewall(SUBNET, new FirewallRules(List.of(FirewallRuleParser.parse("deny", "emperor.ini:9")),
                List.of()), Verdict.ALLOW);
        Router closed = new Router(firewall, 1500, true);
        int carol = closed.attach("carol", ip("10.200.0.4"),
                new FirewallRules(List.of(FirewallRuleParser.parse("allow 0.0.0.0 0.0.0.0 port 443", "vassals/carol.ini:4")), List.of()));
        int dave = closed.attach("dave", ip("10.200.0.5"), FirewallRules.NONE);
        assertThat(closed.fromTenant(carol, Packets.tcp("10.200.0.4", "1.1.1.1", 443))).isEqualTo(Router.TO_GATEWAY);
        assertThat(Router.dropReason(closed.fromTenant(dave, Packets.tcp("10.200.0.5", "1.1.1.1", 443)))).isEqualTo(DropReason.FIREWALL);

        // A detached tenant's id goes to the next tenant, without the old tenant's rules.
        closed.detach(carol);
        int erin = closed.attach("erin", ip("10.200.0.6"), FirewallRules.NONE);
        assertThat(erin).isEqualTo(carol);
        assertThat(Router.dropReason(closed.fromTenant(erin, Packets.tcp("10.200.0.6", "1.1.1.1", 443)))).isEqualTo(DropReason.FIREWALL);
    }

    @Test
    void detachedTenantsGetNothingAndSendNothing() {
        router.detach(bob);
        assertThat(Router.dropReason(router.fromTenant(bob, Packets.tcp("10.200.0.3", "1.1.1.1", 80)))).isEqualTo(DropReason.UNKNOWN_TENANT);
        assertThat(Router.dropReason(router.fromGateway(Packets.tcp("1.1.1.1", "10.200.0.3", 80)))).isEqualTo(DropReason.NO_ROUTE);
        assertThat(Router.dropReason(router.fromTenant(99, Packets.tcp("10.200.0.3", "1.1.1.1", 80)))).isEqualTo(DropReason.UNKNOWN_TENANT);
        assertThat(Router.dropReason(router.fromTenant(-5, Packets.tcp("10.200.0.3", "1.1.1.1", 80)))).isEqualTo(DropReason.UNKNOWN_TENANT);
        assertThatThrownBy(() -> router.counters(bob)).hasMessageContaining("not attached");
    }

    @Test
    void attachRefusesSharedAddressesDuplicateNamesAndNonTenantAddresses() {
        assertThatThrownBy(() -> router.attach("mallory", ip("10.200.0.2"), FirewallRules.NONE))
                .hasMessageContaining("already held by tenant 'alice'");
        assertThatThrownBy(() -> router.attach("alice", ip("10.200.0.9"), FirewallRules.NONE))
                .hasMessageContaining("already attached");
        assertThatThrownBy(() -> router.attach("gw", ip("10.200.0.1"), FirewallRules.NONE))
                .hasMessageContaining("not a tenant address");
        assertThatThrownBy(() -> router.attach("far", ip("172.16.0.2"), FirewallRules.NONE))
                .hasMessageContaining("not a tenant address");
    }

    @Test
    void routesAmongThousandsOfTenants() {
        Router big = new Router(new Firewall(SUBNET, FirewallRules.NONE, Verdict.ALLOW), 1500, true);
        int[] ids = new int[3000];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = big.attach("t" + i, ip("10.200.0.2") + i, FirewallRules.NONE);
        }
        for (int i = 0; i < ids.length; i++) {
            String address = Cidr.format(ip("10.200.0.2") + i);
            assertThat(big.fromGateway(Packets.udp("9.9.9.9", address, 53))).isEqualTo(ids[i]);
            assertThat(big.fromTenant(ids[i], Packets.udp(address, "9.9.9.9", 53))).isEqualTo(Router.TO_GATEWAY);
        }
    }

    @Test
    void routingAPacketAllocatesNothing() {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        org.junit.jupiter.api.Assumptions.assumeTrue(bean instanceof com.sun.management.ThreadMXBean);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) bean;
        ByteBuffer out = Packets.tcp("10.200.0.2", "93.184.216.34", 443);
        ByteBuffer in = Packets.tcp("93.184.216.34", "10.200.0.2", 40000);
        ByteBuffer spoofed = Packets.tcp("10.200.0.3", "93.184.216.34", 443);
        for (int i = 0; i < 20_000; i++) {
            router.fromTenant(alice, out);
            router.fromGateway(in);
            router.fromTenant(alice, spoofed);
        }
        long thread = Thread.currentThread().threadId();
        long before = threads.getThreadAllocatedBytes(thread);
        for (int i = 0; i < 100_000; i++) {
            router.fromTenant(alice, out);
            router.fromGateway(in);
            router.fromTenant(alice, spoofed);
        }
        long allocated = threads.getThreadAllocatedBytes(thread) - before;
        assertThat(allocated).as("bytes allocated for 300000 packets").isLessThan(10_000);
    }
}
