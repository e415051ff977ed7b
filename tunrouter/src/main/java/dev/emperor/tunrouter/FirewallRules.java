package dev.emperor.tunrouter;

import java.util.List;

/**
 * The two ordered rule lists of one scope (the operator's, or one tenant's): {@code out} for
 * tenant-to-world packets, {@code in} for world-to-tenant packets.
 */
public record FirewallRules(List<FirewallRule> out, List<FirewallRule> in) {
    public static final FirewallRules NONE = new FirewallRules(List.of(), List.of());

    public FirewallRules {
        out = List.copyOf(out);
        in = List.copyOf(in);
    }

    public List<FirewallRule> of(Direction direction) {
        return direction == Direction.OUT ? out : in;
    }
}
