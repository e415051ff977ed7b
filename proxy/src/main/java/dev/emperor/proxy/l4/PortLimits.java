package dev.emperor.proxy.l4;

import java.util.Map;

/**
 * How many public ports one tenant may hold: {@code perTenant} for everyone, or the operator's
 * own number for a named tenant. Set by the operator only (emperor.ini's {@code max-ports} and
 * {@code max-ports-for}), never by a vassal file: a tenant could otherwise raise its own cap.
 *
 * @param perTenant the cap of a tenant not named in {@code byTenant}
 * @param byTenant  the operator's cap for a named tenant
 */
public record PortLimits(int perTenant, Map<String, Integer> byTenant) {

    /** The cap when emperor.ini says nothing: a tenant holds at most this many ports. */
    public static final int DEFAULT_PER_TENANT = 8;
    public static final PortLimits DEFAULT = new PortLimits(DEFAULT_PER_TENANT, Map.of());

    public PortLimits {
        byTenant = Map.copyOf(byTenant);
        if (perTenant < 0 || byTenant.values().stream().anyMatch(n -> n < 0)) {
            throw new IllegalArgumentException("a port limit cannot be negative");
        }
    }

    /** The tenant's cap. */
    public int of(String tenant) {
        return byTenant.getOrDefault(tenant, perTenant);
    }
}
