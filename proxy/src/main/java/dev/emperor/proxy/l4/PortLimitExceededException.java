package dev.emperor.proxy.l4;

import java.util.List;

/**
 * A tenant asked for a new public port while it already holds its cap of them (its current
 * services and those it removed: a removed service's port stays reserved for it for good).
 */
public final class PortLimitExceededException extends RuntimeException {

    PortLimitExceededException(String tenant, String service, int held, int limit, List<String> released) {
        super("port " + service + " refused: tenant " + tenant + " already holds " + held + " public port"
                + (held == 1 ? "" : "s") + " and its limit is " + limit + " (max-ports)"
                + (released.isEmpty() ? "" : "; ports of removed services count too, they stay reserved for it: "
                        + String.join(", ", released) + " (declare one of those names again to use its port)")
                + "; the operator may raise it with 'max-ports-for = " + tenant + " N' in emperor.ini");
    }
}
