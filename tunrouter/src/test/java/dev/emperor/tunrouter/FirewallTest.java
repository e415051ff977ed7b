package dev.emperor.tunrouter;

import static dev.emperor.tunrouter.Packets.ip;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FirewallTest {
    private static final TenantSubnet SUBNET = TenantSubnet.parse("10.200.0.0/16");
    private final Ipv4Packet packet = new Ipv4Packet();

    private static List<FirewallRule> rules(String... texts) throws FirewallRuleException {
        List<FirewallRule> rules = new ArrayList<>();
        for (int i = 0; i < texts.length; i++) {
            rules.add(FirewallRuleParser.parse(texts[i], "emperor.ini:" + (i + 1)));
        }
        return rules;
    }

    private Ipv4Packet valid(ByteBuffer frame) {
        assertThat(packet.wrap(frame).validate(65535, true)).isNull();
        return packet;
    }

    private Verdict decide(Firewall firewall, ByteBuffer frame, Direction direction) {
        return firewall.decide(valid(frame), direction, 0);
    }

    @Test
    void withoutRulesTheDefaultVerdictDecides() {
        ByteBuffer web = Packets.tcp("10.200.0.2", "93.184.216.34", 443);
        assertThat(decide(new Firewall(SUBNET, FirewallRules.NONE, Verdict.ALLOW), web, Direction.OUT)).isEqualTo(Verdict.ALLOW);
        assertThat(decide(new Firewall(SUBNET, FirewallRules.NONE, Verdict.DENY), web, Direction.OUT)).isEqualTo(Verdict.DENY);
        assertThat(new Firewall(SUBNET, FirewallRules.NONE, Verdict.ALLOW).firstMatch(packet, Direction.OUT, 0)).isNull();
    }

    @Test
    void firstMatchingRuleWinsAndDirectionsHaveTheirOwnLists() throws FirewallRuleException {
        Firewall firewall = new Firewall(SUBNET, new FirewallRules(
                rules("allow 10.200.0.0/16 8.8.8.8", "deny 10.200.0.0/16 8.8.0.0/16", "allow"),
                rules("deny 8.8.8.8 10.200.0.0/16")), Verdict.ALLOW);
        assertThat(decide(firewall, Packets.udp("10.200.0.2", "8.8.8.8", 53), Direction.OUT)).isEqualTo(Verdict.ALLOW);
        assertThat(firewall.firstMatch(packet, Direction.OUT, 0).origin()).isEqualTo("emperor.ini:1");
        assertThat(decide(firewall, Packets.udp("10.200.0.2", "8.8.4.4", 53), Direction.OUT)).isEqualTo(Verdict.DENY);
        assertThat(firewall.firstMatch(packet, Direction.OUT, 0).origin()).isEqualTo("emperor.ini:2");
        assertThat(decide(firewall, Packets.udp("8.8.8.8", "10.200.0.2", 53), Direction.IN)).isEqualTo(Verdict.DENY);
        assertThat(decide(firewall, Packets.udp("8.8.4.4", "10.200.0.2", 53), Direction.IN)).isEqualTo(Verdict.ALLOW);
    }

    /** uWSGI's documented example: tenants reach the gateway and the world, not each other. */
    @Test
    void uwsgiDocumentationExampleBehavesAsDocumented() throws FirewallRuleException {
        TenantSubnet subnet = TenantSubnet.parse("192.168.0.0/24");
        Firewall firewall = new Firewall(subnet, new FirewallRules(
                rules("allow 192.168.0.0/24 192.168.0.1", "deny 192.168.0.0/24 192.168.0.0/24",
                        "allow 192.168.0.0/24 0.0.0.0", "deny"),
                rules("allow 192.168.0.1 192.168.0.0/24", "deny 192.168.0.0/24 192.168.0.0/24",
                        "allow 0.0.0.0 192.168.0.0/24", "deny")), Verdict.ALLOW);
        assertThat(decide(firewall, Packets.tcp("192.168.0.5", "192.168.0.1", 22), Direction.OUT)).isEqualTo(Verdict.ALLOW);
        assertThat(decide(firewall, Packets.tcp("192.168.0.5", "192.168.0.6", 22), Direction.OUT)).isEqualTo(Verdict.DENY);
        assertThat(decide(firewall, Packets.tcp("192.168.0.5", "1.1.1.1", 443), Direction.OUT)).isEqualTo(Verdict.ALLOW);
        assertThat(decide(firewall, Packets.tcp("10.9.9.9", "1.1.1.1", 443), Direction.OUT)).isEqualTo(Verdict.DENY);
        assertThat(decide(firewall, Packets.tcp("192.168.0.1", "192.168.0.5", 80), Direction.IN)).isEqualTo(Verdict.ALLOW);
        assertThat(decide(firewall, Packets.tcp("1.1.1.1", "192.168.0.5", 80), Direction.IN)).isEqualTo(Verdict.ALLOW);
        assertThat(decide(firewall, Packets.tcp("1.1.1.1", "172.16.0.1", 80), Direction.IN)).isEqualTo(Verdict.DENY);
    }

    @Test
    void operatorCannotOpenTenantToTenantBecauseBuiltInsComeFirst() throws FirewallRuleException {
        Firewall firewall = new Firewall(SUBNET, new FirewallRules(rules("allow"), rules("allow")), Verdict.ALLOW);
        assertThat(decide(firewall, Packets.tcp("10.200.0.2", "10.200.0.3", 80), Direction.OUT)).isEqualTo(Verdict.DENY);
        assertThat(decide(firewall, Packets.tcp("10.200.0.3", "10.200.0.2", 80), Direction.IN)).isEqualTo(Verdict.DENY);
        assertThat(firewall.firstMatch(packet, Direction.IN, 0).origin()).isEqualTo("built-in");
        assertThat(decide(firewall, Packets.tcp("10.200.0.2", "10.200.255.255", 80), Direction.OUT)).isEqualTo(Verdict.DENY);
    }

    @Test
    void gatewayIsNotATenantSoTheOperatorDecidesAboutIt() throws FirewallRuleException {
        Firewall open = new Firewall(SUBNET, FirewallRules.NONE, Verdict.ALLOW);
        assertThat(decide(open, Packets.udp("10.200.0.2", "10.200.0.1", 53), Direction.OUT)).isEqualTo(Verdict.ALLOW);
        assertThat(decide(open, Packets.udp("10.200.0.1", "10.200.0.2", 53), Direction.IN)).isEqualTo(Verdict.ALLOW);
        Firewall closed = new Firewall(SUBNET, new FirewallRules(rules("deny 10.200.0.0/16 10.200.0.1"), List.of()), Verdict.ALLOW);
        assertThat(decide(closed, Packets.udp("10.200.0.2", "10.200.0.1", 53), Direction.OUT)).isEqualTo(Verdict.DENY);
    }

    @Test
    void loopbackLinkLocalMulticastAndBroadcastAreDeniedWhateverTheOperatorAllows() throws FirewallRuleException {
        Firewall firewall = new Firewall(SUBNET, new FirewallRules(rules("allow"), rules("allow")), Verdict.ALLOW);
        for (String bogon : List.of("127.0.0.1", "169.254.169.254", "224.0.0.251", "239.255.255.250", "255.255.255.255", "0.0.0.0")) {
            assertThat(decide(firewall, Packets.udp("10.200.0.2", bogon, 53), Direction.OUT)).as(bogon + " out").isEqualTo(Verdict.DENY);
            assertThat(decide(firewall, Packets.udp(bogon, "10.200.0.2", 53), Direction.IN)).as(bogon + " in").isEqualTo(Verdict.DENY);
            assertThat(firewall.firstMatch(packet, Direction.IN, 0).origin()).isEqualTo("built-in");
        }
    }

    @Test
    void fragmentationNeededIsAllowedEvenUnderACatchAllDeny() throws FirewallRuleException {
        Firewall firewall = new Firewall(SUBNET, new FirewallRules(rules("deny"), rules("deny")), Verdict.DENY);
        assertThat(decide(firewall, Packets.icmp("198.51.100.1", "10.200.0.2", 3, 4), Direction.IN)).isEqualTo(Verdict.ALLOW);
        assertThat(decide(firewall, Packets.icmp("10.200.0.2", "198.51.100.1", 3, 4), Direction.OUT)).isEqualTo(Verdict.ALLOW);
        assertThat(decide(firewall, Packets.icmp("198.51.100.1", "10.200.0.2", 3, 1), Direction.IN)).isEqualTo(Verdict.DENY);
        assertThat(decide(firewall, Packets.icmp("198.51.100.1", "10.200.0.2", 8, 0), Direction.IN)).isEqualTo(Verdict.DENY);
        // ... but never between tenants.
        assertThat(decide(firewall, Packets.icmp("10.200.0.3", "10.200.0.2", 3, 4), Direction.IN)).isEqualTo(Verdict.DENY);
    }

    @Test
    void protoAndPortClausesMatchOnlyTheirTraffic() throws FirewallRuleException {
        Firewall firewall = new Firewall(SUBNET, new FirewallRules(
                rules("allow 0.0.0.0 0.0.0.0 proto tcp port 80-443", "allow port 53", "allow proto icmp", "deny"),
                List.of()), Verdict.ALLOW);
        assertThat(decide(firewall, Packets.tcp("10.200.0.2", "1.1.1.1", 80), Direction.OUT)).isEqualTo(Verdict.ALLOW);
        assertThat(decide(firewall, Packets.tcp("10.200.0.2", "1.1.1.1", 443), Direction.OUT)).isEqualTo(Verdict.ALLOW);
        assertThat(decide(firewall, Packets.tcp("10.200.0.2", "1.1.1.1", 444), Direction.OUT)).isEqualTo(Verdict.DENY);
        assertThat(decide(firewall, Packets.udp("10.200.0.2", "1.1.1.1", 80), Direction.OUT)).isEqualTo(Verdict.DENY);
        assertThat(decide(firewall, Packets.udp("10.200.0.2", "1.1.1.1", 53), Direction.OUT)).isEqualTo(Verdict.ALLOW);
        assertThat(decide(firewall, Packets.tcp("10.200.0.2", "1.1.1.1", 53), Direction.OUT)).isEqualTo(Verdict.ALLOW);
        assertThat(decide(firewall, Packets.icmp("10.200.0.2", "1.1.1.1", 8, 0), Direction.OUT)).isEqualTo(Verdict.ALLOW);
    }

    @Test
    void portRulesDoNotMatchLaterFragments() throws FirewallRuleException {
        Firewall firewall = new Firewall(SUBNET, new FirewallRules(rules("allow port 53", "deny"), List.of()), Verdict.ALLOW);
        ByteBuffer later = Packets.transport(ip("10.200.0.2"), ip("8.8.8.8"), Ipv4Packet.PROTOCOL_UDP, 1, 53, 8, 1480, false);
        assertThat(decide(firewall, later, Direction.OUT)).isEqualTo(Verdict.DENY);
    }

    @Test
    void tenantRulesComeAfterBuiltInsAndBeforeTheOperatorsAndApplyToThatTenantOnly() throws FirewallRuleException {
        Firewall firewall = new Firewall(SUBNET, new FirewallRules(rules("deny"), rules("deny")), Verdict.DENY);
        firewall.setTenantRules(7, new FirewallRules(rules("allow 0.0.0.0 203.0.113.0/24 proto tcp port 5432"),
                rules("allow 203.0.113.9 0.0.0.0", "allow 0.0.0.0 10.200.0.0/16")));
        ByteBuffer postgres = Packets.tcp("10.200.0.9", "203.0.113.5", 5432);
        assertThat(firewall.decide(valid(postgres), Direction.OUT, 7)).isEqualTo(Verdict.ALLOW);
        assertThat(firewall.firstMatch(packet, Direction.OUT, 7).text()).contains("port 5432");
        assertThat(firewall.decide(valid(postgres), Direction.OUT, 6)).isEqualTo(Verdict.DENY);
        assertThat(firewall.decide(valid(Packets.tcp("203.0.113.9", "10.200.0.9", 80)), Direction.IN, 7)).isEqualTo(Verdict.ALLOW);
        // A tenant's own "allow everything to the subnet" still cannot reach another tenant.
        assertThat(firewall.decide(valid(Packets.tcp("10.200.0.8", "10.200.0.9", 80)), Direction.IN, 7)).isEqualTo(Verdict.DENY);

        firewall.clearTenantRules(7);
        assertThat(firewall.decide(valid(postgres), Direction.OUT, 7)).isEqualTo(Verdict.DENY);
    }

    @Test
    void builtInRulesAreListedForTheOperatorToRead() {
        List<FirewallRule> builtIns = Firewall.builtInRules(SUBNET);
        assertThat(builtIns).allSatisfy(rule -> assertThat(rule.origin()).isEqualTo("built-in"));
        assertThat(builtIns.get(0).text()).contains("tenant to tenant").contains("10.200.0.1");
        assertThat(builtIns.get(builtIns.size() - 1).verdict()).isEqualTo(Verdict.ALLOW);
    }
}
