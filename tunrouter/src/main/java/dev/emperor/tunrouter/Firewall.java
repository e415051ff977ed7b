package dev.emperor.tunrouter;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Decides whether a packet may cross the router. For each direction the rules are read in this
 * order and the first that matches decides:
 *
 * <ol>
 *   <li>Emperor's built-in rules ({@link #builtInRules}), which no configuration can remove or
 *       precede: deny tenant-to-tenant, deny loopback, link-local, multicast, reserved/limited
 *       broadcast and 0.0.0.0/8 at either end, then allow ICMP "fragmentation needed" so path-MTU
 *       discovery keeps working whatever the operator denies;</li>
 *   <li>the tenant's own rules (its allow-list), if it has any;</li>
 *   <li>the operator's rules from {@code emperor.ini};</li>
 *   <li>the default verdict (uWSGI's is allow).</li>
 * </ol>
 *
 * {@link #decide} allocates nothing. Tenant rules may be changed from any thread while packets
 * are being decided: each change publishes a new array.
 */
public final class Firewall {
    private static final FirewallRule[] NO_RULES = {};

    private final TenantSubnet subnet;
    private final FirewallRule[] builtIn;
    // Replaced whole on a configuration reload; a packet sees the old or the new list, never a mix.
    private volatile FirewallRule[] globalOut;
    private volatile FirewallRule[] globalIn;
    private final Verdict defaultVerdict;
    private volatile FirewallRule[][] tenantOut = new FirewallRule[0][];
    private volatile FirewallRule[][] tenantIn = new FirewallRule[0][];

    public Firewall(TenantSubnet subnet, FirewallRules global, Verdict defaultVerdict) {
        this.subnet = Objects.requireNonNull(subnet, "subnet");
        this.builtIn = builtInRules(subnet).toArray(NO_RULES);
        this.globalOut = global.out().toArray(NO_RULES);
        this.globalIn = global.in().toArray(NO_RULES);
        this.defaultVerdict = Objects.requireNonNull(defaultVerdict, "defaultVerdict");
    }

    /**
     * Emperor's built-in rules, the same for both directions. The tenant-to-tenant rule covers
     * the whole subnet except the gateway (the host's own {@code emperor0} address), so the
     * operator still decides whether tenants may talk to the host.
     */
    public static List<FirewallRule> builtInRules(TenantSubnet subnet) {
        List<FirewallRule> rules = new ArrayList<>();
        Cidr tenants = subnet.cidr();
        rules.add(new FirewallRule(Verdict.DENY, tenants, tenants, FirewallRule.ANY_PROTOCOL, -1, -1, -1, -1,
                subnet.gateway(), "deny " + tenants + " " + tenants + " except gateway " + Cidr.format(subnet.gateway())
                + " (tenant to tenant)", "built-in"));
        String[][] bogons = {
                {"127.0.0.0/8", "loopback"},
                {"169.254.0.0/16", "link-local"},
                {"224.0.0.0/4", "multicast"},
                {"240.0.0.0/4", "reserved and limited broadcast"},
                {"0.0.0.0/8", "this network"},
        };
        for (String[] bogon : bogons) {
            Cidr block = Cidr.parse(bogon[0]);
            rules.add(FirewallRule.of(Verdict.DENY, block, Cidr.ANY, "deny " + block + " 0.0.0.0/0 (" + bogon[1] + " source)", "built-in"));
            rules.add(FirewallRule.of(Verdict.DENY, Cidr.ANY, block, "deny 0.0.0.0/0 " + block + " (" + bogon[1] + " destination)", "built-in"));
        }
        rules.add(new FirewallRule(Verdict.ALLOW, Cidr.ANY, Cidr.ANY, Ipv4Packet.PROTOCOL_ICMP, -1, -1,
                Ipv4Packet.ICMP_DESTINATION_UNREACHABLE, Ipv4Packet.ICMP_FRAGMENTATION_NEEDED, 0,
                "allow proto icmp type 3 code 4 (fragmentation needed: path-MTU discovery)", "built-in"));
        return List.copyOf(rules);
    }

    public TenantSubnet subnet() {
        return subnet;
    }

    public Verdict defaultVerdict() {
        return defaultVerdict;
    }

    /** Replaces the operator's rules (e.g. after emperor.ini was re-read); the built-ins stay first. */
    public synchronized void setGlobalRules(FirewallRules global) {
        globalOut = global.out().toArray(NO_RULES);
        globalIn = global.in().toArray(NO_RULES);
    }

    /** Gives one tenant its own rules (replacing any it had), read after the built-ins and before the operator's. */
    public synchronized void setTenantRules(int tenantId, FirewallRules rules) {
        if (tenantId < 0) {
            throw new IllegalArgumentException("tenant id " + tenantId);
        }
        tenantOut = with(tenantOut, tenantId, rules.out().isEmpty() ? null : rules.out().toArray(NO_RULES));
        tenantIn = with(tenantIn, tenantId, rules.in().isEmpty() ? null : rules.in().toArray(NO_RULES));
    }

    public synchronized void clearTenantRules(int tenantId) {
        setTenantRules(tenantId, FirewallRules.NONE);
    }

    private static FirewallRule[][] with(FirewallRule[][] current, int tenantId, FirewallRule[] rules) {
        FirewallRule[][] copy = Arrays.copyOf(current, Math.max(current.length, tenantId + 1));
        copy[tenantId] = rules;
        return copy;
    }

    /** The verdict for a validated packet crossing in {@code direction} for tenant {@code tenantId} (-1: none). */
    public Verdict decide(Ipv4Packet packet, Direction direction, int tenantId) {
        FirewallRule rule = firstMatch(packet, direction, tenantId);
        return rule == null ? defaultVerdict : rule.verdict();
    }

    /** The rule that decides this packet, or null when the default verdict does: for logs and tests. */
    public FirewallRule firstMatch(Ipv4Packet packet, Direction direction, int tenantId) {
        // Read each header field once, not once per rule.
        int src = packet.source();
        int dst = packet.destination();
        int protocol = packet.protocol();
        int port = packet.destinationPort();
        int icmpType = packet.icmpType();
        int icmpCode = packet.icmpCode();
        FirewallRule rule = first(builtIn, src, dst, protocol, port, icmpType, icmpCode);
        if (rule != null) {
            return rule;
        }
        FirewallRule[][] perTenant = direction == Direction.OUT ? tenantOut : tenantIn;
        if (tenantId >= 0 && tenantId < perTenant.length && perTenant[tenantId] != null) {
            rule = first(perTenant[tenantId], src, dst, protocol, port, icmpType, icmpCode);
            if (rule != null) {
                return rule;
            }
        }
        return first(direction == Direction.OUT ? globalOut : globalIn, src, dst, protocol, port, icmpType, icmpCode);
    }

    private static FirewallRule first(FirewallRule[] rules, int src, int dst, int protocol, int port, int icmpType, int icmpCode) {
        for (FirewallRule rule : rules) {
            if (rule.matches(src, dst, protocol, port, icmpType, icmpCode)) {
                return rule;
            }
        }
        return null;
    }
}
