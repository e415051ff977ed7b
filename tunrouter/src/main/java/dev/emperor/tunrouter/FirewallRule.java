package dev.emperor.tunrouter;

import java.util.Objects;

/**
 * One firewall rule: a verdict and what a packet must look like for it to apply. Built by
 * {@link FirewallRuleParser} from the operator's or a tenant's text, or by {@link Firewall} for
 * its built-in rules. Matching reads ints only (no allocation).
 *
 * @param verdict     what the rule does with a packet it matches
 * @param source      source block (0.0.0.0/0 = any)
 * @param destination destination block (0.0.0.0/0 = any)
 * @param protocol    IP protocol number, {@link #ANY_PROTOCOL} or {@link #TCP_OR_UDP}
 * @param portFrom    lowest destination port, or -1 for no port condition
 * @param portTo      highest destination port, or -1
 * @param icmpType    ICMP type, or -1 for any (built-in rules only)
 * @param icmpCode    ICMP code, or -1 for any (built-in rules only)
 * @param except      an address that neither end may be for the rule to match, or 0 for none
 *                    (the built-in tenant-to-tenant rule leaves the gateway out this way)
 * @param text        the rule as written, for messages and logs
 * @param origin      where it was written, e.g. {@code emperor.ini:12} or {@code built-in}
 */
public record FirewallRule(Verdict verdict, Cidr source, Cidr destination, int protocol, int portFrom, int portTo,
                           int icmpType, int icmpCode, int except, String text, String origin) {
    public static final int ANY_PROTOCOL = -1;
    /** What a {@code port} clause without {@code proto} means: TCP or UDP. */
    public static final int TCP_OR_UDP = -2;

    public FirewallRule {
        Objects.requireNonNull(verdict, "verdict");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(origin, "origin");
    }

    /** A rule on addresses only (uWSGI's whole grammar). */
    public static FirewallRule of(Verdict verdict, Cidr source, Cidr destination, String text, String origin) {
        return new FirewallRule(verdict, source, destination, ANY_PROTOCOL, -1, -1, -1, -1, 0, text, origin);
    }

    /** True when the packet (already validated) satisfies every condition of this rule. */
    public boolean matches(Ipv4Packet packet) {
        return matches(packet.source(), packet.destination(), packet.protocol(), packet.destinationPort(),
                packet.icmpType(), packet.icmpCode());
    }

    /** The same test on fields read once per packet by {@link Firewall} (-1 for an absent port or ICMP field). */
    boolean matches(int src, int dst, int packetProtocol, int destinationPort, int packetIcmpType, int packetIcmpCode) {
        if (!source.contains(src) || !destination.contains(dst)) {
            return false;
        }
        if (except != 0 && (src == except || dst == except)) {
            return false;
        }
        if (protocol != ANY_PROTOCOL) {
            if (protocol == TCP_OR_UDP
                    ? (packetProtocol != Ipv4Packet.PROTOCOL_TCP && packetProtocol != Ipv4Packet.PROTOCOL_UDP)
                    : packetProtocol != protocol) {
                return false;
            }
        }
        // Without a visible port (a later fragment) a port rule does not apply, for allow and deny alike.
        if (portFrom >= 0 && (destinationPort < portFrom || destinationPort > portTo)) {
            return false;
        }
        if (icmpType >= 0 && packetIcmpType != icmpType) {
            return false;
        }
        return icmpCode < 0 || packetIcmpCode == icmpCode;
    }

    @Override
    public String toString() {
        return origin + ": " + text;
    }
}
