package dev.emperor.proxy.l4;

import java.util.Objects;

/**
 * One public port handed to one tenant's service, for good.
 *
 * @param tenant     the vassal name
 * @param service    the service name from the vassal's {@code port} key
 * @param protocol   what the port carries (may change on reload; the port does not)
 * @param publicPort the port on the host, never given to any other (tenant, service)
 * @param released   true while the service is not declared (removed from the file, or the
 *                   tenant destroyed); the port stays reserved and comes back if re-declared
 */
public record PortAssignment(String tenant, String service, ServiceProtocol protocol, int publicPort,
        boolean released) {

    public PortAssignment {
        Objects.requireNonNull(tenant, "tenant");
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(protocol, "protocol");
        if (publicPort < 1 || publicPort > 65535) {
            throw new IllegalArgumentException("port out of range: " + publicPort);
        }
    }

    PortAssignment withState(ServiceProtocol newProtocol, boolean nowReleased) {
        return new PortAssignment(tenant, service, newProtocol, publicPort, nowReleased);
    }
}
