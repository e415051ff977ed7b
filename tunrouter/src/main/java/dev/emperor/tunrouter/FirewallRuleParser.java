package dev.emperor.tunrouter;

/**
 * Reads one firewall rule. The grammar is uWSGI's {@code tuntap-router-firewall-in/out} value,
 * with two optional clauses added at the end; every rule uWSGI accepts means the same here:
 *
 * <pre>
 *   RULE    = ACTION [ SOURCE DESTINATION ] [ "proto" PROTOCOL ] [ "port" PORT [ "-" PORT ] ]
 *   ACTION  = "allow" | "deny"
 *   SOURCE, DESTINATION = a.b.c.d [ "/" 0-32 ]      (no mask = /32; 0.0.0.0 = any, whatever the mask)
 *   PROTOCOL = "tcp" | "udp" | "icmp" | "any" | 0-255
 *   PORT    = 0-65535                               (the packet's destination port)
 * </pre>
 *
 * A bare {@code allow} or {@code deny} matches every packet (uWSGI's catch-all). A {@code port}
 * clause without {@code proto} means TCP or UDP. Words are separated by spaces or tabs and are
 * case-sensitive, as in uWSGI. Where uWSGI logs and skips or reads a bad number as 0, this
 * parser refuses the rule with a {@link FirewallRuleException}.
 */
public final class FirewallRuleParser {
    private FirewallRuleParser() {
    }

    /** Parses {@code text}; {@code origin} (e.g. {@code emperor.ini:12}) goes into errors and into the rule. */
    public static FirewallRule parse(String text, String origin) throws FirewallRuleException {
        String[] words = text.strip().split("[ \t]+");
        if (words.length == 1 && words[0].isEmpty()) {
            throw new FirewallRuleException(origin, text, "empty rule; expected 'allow|deny [SRC[/mask] DST[/mask]] [proto P] [port N[-M]]'");
        }
        Verdict verdict = switch (words[0]) {
            case "allow" -> Verdict.ALLOW;
            case "deny" -> Verdict.DENY;
            default -> throw new FirewallRuleException(origin, text, "unknown action '" + words[0] + "': expected 'allow' or 'deny'");
        };

        int next = 1;
        Cidr source = Cidr.ANY;
        Cidr destination = Cidr.ANY;
        if (next < words.length && !isKeyword(words[next])) {
            if (next + 1 >= words.length || isKeyword(words[next + 1])) {
                throw new FirewallRuleException(origin, text,
                        "source '" + words[next] + "' has no destination: expected 'ACTION SRC[/mask] DST[/mask]'");
            }
            source = address(words[next], "source", origin, text);
            destination = address(words[next + 1], "destination", origin, text);
            next += 2;
        }

        int protocol = FirewallRule.ANY_PROTOCOL;
        boolean protocolGiven = false;
        int portFrom = -1;
        int portTo = -1;
        while (next < words.length) {
            String keyword = words[next];
            if (!isKeyword(keyword)) {
                throw new FirewallRuleException(origin, text, "unexpected '" + keyword + "': expected 'proto' or 'port'");
            }
            if (next + 1 >= words.length) {
                throw new FirewallRuleException(origin, text, "'" + keyword + "' needs a value");
            }
            String value = words[next + 1];
            if (keyword.equals("proto")) {
                if (protocolGiven) {
                    throw new FirewallRuleException(origin, text, "'proto' given twice");
                }
                protocol = protocol(value, origin, text);
                protocolGiven = true;
            } else {
                if (portFrom >= 0) {
                    throw new FirewallRuleException(origin, text, "'port' given twice");
                }
                int dash = value.indexOf('-');
                portFrom = port(dash < 0 ? value : value.substring(0, dash), value, origin, text);
                portTo = dash < 0 ? portFrom : port(value.substring(dash + 1), value, origin, text);
                if (portTo < portFrom) {
                    throw new FirewallRuleException(origin, text, "port range '" + value + "' ends before it starts");
                }
            }
            next += 2;
        }

        if (portFrom >= 0) {
            if (!protocolGiven) {
                protocol = FirewallRule.TCP_OR_UDP;
            } else if (protocol != Ipv4Packet.PROTOCOL_TCP && protocol != Ipv4Packet.PROTOCOL_UDP) {
                throw new FirewallRuleException(origin, text, "'port' needs 'proto tcp', 'proto udp' or no proto (= both)");
            }
        }
        return new FirewallRule(verdict, source, destination, protocol, portFrom, portTo, -1, -1, 0, text.strip(), origin);
    }

    private static boolean isKeyword(String word) {
        return word.equals("proto") || word.equals("port");
    }

    private static Cidr address(String word, String role, String origin, String text) throws FirewallRuleException {
        Cidr cidr;
        try {
            cidr = Cidr.parse(word);
        } catch (IllegalArgumentException e) {
            throw new FirewallRuleException(origin, text, role + " " + e.getMessage());
        }
        // uWSGI skips the address test when the (masked) address is 0: 0.0.0.0 means any.
        return cidr.network() == 0 ? Cidr.ANY : cidr;
    }

    private static int protocol(String value, String origin, String text) throws FirewallRuleException {
        switch (value) {
            case "tcp": return Ipv4Packet.PROTOCOL_TCP;
            case "udp": return Ipv4Packet.PROTOCOL_UDP;
            case "icmp": return Ipv4Packet.PROTOCOL_ICMP;
            case "any": return FirewallRule.ANY_PROTOCOL;
            default:
                int number = smallNumber(value, 255);
                if (number < 0) {
                    throw new FirewallRuleException(origin, text,
                            "unknown protocol '" + value + "': expected tcp, udp, icmp, any or a number from 0 to 255");
                }
                return number;
        }
    }

    private static int port(String part, String value, String origin, String text) throws FirewallRuleException {
        int port = smallNumber(part, 65535);
        if (port < 0) {
            throw new FirewallRuleException(origin, text, "bad port '" + value + "': expected N or N-M with numbers from 0 to 65535");
        }
        return port;
    }

    /** A decimal number from 0 to max, or -1. */
    private static int smallNumber(String s, int max) {
        if (s.isEmpty() || s.length() > 5) {
            return -1;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return -1;
            }
        }
        int n = Integer.parseInt(s);
        return n <= max ? n : -1;
    }
}
