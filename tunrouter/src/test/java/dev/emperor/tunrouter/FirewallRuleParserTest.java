package dev.emperor.tunrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class FirewallRuleParserTest {
    private static FirewallRule parse(String text) throws FirewallRuleException {
        return FirewallRuleParser.parse(text, "emperor.ini:12");
    }

    /** Every rule in uWSGI's tuntap plugin documentation parses. */
    @ParameterizedTest
    @ValueSource(strings = {
            "allow 192.168.0.0/24 192.168.0.1",
            "deny 192.168.0.0/24 192.168.0.0/24",
            "allow 192.168.0.0/24 0.0.0.0",
            "deny",
            "allow 192.168.0.1 192.168.0.0/24",
            "allow 0.0.0.0 192.168.0.0/24",
    })
    void acceptsEveryRuleOfTheUwsgiDocumentation(String text) throws FirewallRuleException {
        FirewallRule rule = parse(text);
        assertThat(rule.text()).isEqualTo(text);
        assertThat(rule.origin()).isEqualTo("emperor.ini:12");
        assertThat(rule.protocol()).isEqualTo(FirewallRule.ANY_PROTOCOL);
        assertThat(rule.portFrom()).isEqualTo(-1);
    }

    @Test
    void addressWithoutMaskIsSlash32() throws FirewallRuleException {
        FirewallRule rule = parse("allow 192.168.0.0/24 192.168.0.1");
        assertThat(rule.verdict()).isEqualTo(Verdict.ALLOW);
        assertThat(rule.source()).isEqualTo(Cidr.parse("192.168.0.0/24"));
        assertThat(rule.destination()).isEqualTo(Cidr.parse("192.168.0.1/32"));
    }

    @Test
    void zeroAddressMeansAnyWhateverTheMaskAsInUwsgi() throws FirewallRuleException {
        assertThat(parse("allow 192.168.0.0/24 0.0.0.0").destination()).isEqualTo(Cidr.ANY);
        assertThat(parse("allow 0.0.0.0/32 192.168.0.0/24").source()).isEqualTo(Cidr.ANY);
    }

    @Test
    void bareActionMatchesEverything() throws FirewallRuleException {
        FirewallRule rule = parse("deny");
        assertThat(rule.verdict()).isEqualTo(Verdict.DENY);
        assertThat(rule.source()).isEqualTo(Cidr.ANY);
        assertThat(rule.destination()).isEqualTo(Cidr.ANY);
    }

    @Test
    void toleratesExtraSpacesAndTabs() throws FirewallRuleException {
        FirewallRule rule = parse("  deny\t10.0.0.0/8   10.0.0.0/8 ");
        assertThat(rule.source()).isEqualTo(Cidr.parse("10.0.0.0/8"));
        assertThat(rule.text()).isEqualTo("deny\t10.0.0.0/8   10.0.0.0/8");
    }

    @Test
    void protoAndPortExtendTheUwsgiForm() throws FirewallRuleException {
        FirewallRule rule = parse("allow 10.200.0.0/16 0.0.0.0/0 proto tcp port 80-443");
        assertThat(rule.protocol()).isEqualTo(Ipv4Packet.PROTOCOL_TCP);
        assertThat(rule.portFrom()).isEqualTo(80);
        assertThat(rule.portTo()).isEqualTo(443);
    }

    @Test
    void clausesMayFollowTheActionAloneAndComeInEitherOrder() throws FirewallRuleException {
        FirewallRule rule = parse("deny port 25 proto tcp");
        assertThat(rule.source()).isEqualTo(Cidr.ANY);
        assertThat(rule.protocol()).isEqualTo(Ipv4Packet.PROTOCOL_TCP);
        assertThat(rule.portFrom()).isEqualTo(25);
        assertThat(rule.portTo()).isEqualTo(25);
    }

    @Test
    void portWithoutProtoMeansTcpOrUdp() throws FirewallRuleException {
        assertThat(parse("allow 0.0.0.0 8.8.8.8 port 53").protocol()).isEqualTo(FirewallRule.TCP_OR_UDP);
    }

    @ParameterizedTest
    @CsvSource({"udp,17", "icmp,1", "any,-1", "47,47", "0,0", "255,255"})
    void protocolsByNameOrNumber(String name, int number) throws FirewallRuleException {
        assertThat(parse("allow proto " + name).protocol()).isEqualTo(number);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "''                                      | empty rule",
            "permit 10.0.0.0/8 0.0.0.0               | unknown action 'permit': expected 'allow' or 'deny'",
            "Allow                                   | unknown action 'Allow'",
            "allow 10.0.0.0/8                        | source '10.0.0.0/8' has no destination",
            "allow 10.0.0.0/8 proto tcp              | source '10.0.0.0/8' has no destination",
            "allow 10.0.0.0/33 0.0.0.0               | source '10.0.0.0/33': mask '/33' is not a number from 0 to 32",
            "allow 10.0.0.0/8 300.0.0.1              | destination '300.0.0.1' is not an IPv4 address: 300 is above 255",
            "allow 10.0.0.0/8 example.com            | destination 'example.com' is not an IPv4 address",
            "allow 10.0.0.0/8 0.0.0.0 tcp            | unexpected 'tcp': expected 'proto' or 'port'",
            "allow proto                             | 'proto' needs a value",
            "allow proto gre                         | unknown protocol 'gre'",
            "allow proto 256                         | unknown protocol '256'",
            "allow proto tcp proto udp               | 'proto' given twice",
            "allow port 80 port 81                   | 'port' given twice",
            "allow port 70000                        | bad port '70000'",
            "allow port 80-                          | bad port '80-'",
            "allow port http                         | bad port 'http'",
            "allow port 443-80                       | port range '443-80' ends before it starts",
            "allow proto icmp port 80                | 'port' needs 'proto tcp', 'proto udp' or no proto",
    })
    void badRulesNameTheOriginTheRuleAndTheProblem(String text, String problem) {
        assertThatThrownBy(() -> parse(text))
                .isInstanceOf(FirewallRuleException.class)
                .hasMessageStartingWith("emperor.ini:12: firewall rule '" + text + "': ")
                .hasMessageContaining(problem)
                .satisfies(e -> {
                    FirewallRuleException error = (FirewallRuleException) e;
                    assertThat(error.origin()).isEqualTo("emperor.ini:12");
                    assertThat(error.ruleText()).isEqualTo(text);
                });
    }

    @Test
    void controlCharactersInARuleDoNotReachTheLogRaw() {
        assertThatThrownBy(() -> FirewallRuleParser.parse("allow\u001b[31m 1.2.3.4 5.6.7.8", "vassals/a.ini:3"))
                .hasMessageContaining("\\u001b")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\u001b"));
    }
}
