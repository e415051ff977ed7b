package dev.emperor.supervisor.config;

import dev.emperor.proxy.l4.ServiceProtocol;
import java.util.Objects;

/**
 * A service a vassal offers on a public port ({@code port = NAME PROTO INTERNAL_PORT}): the
 * proxy allocates the public port and forwards it to {@code internalPort} on the tenant's
 * tun address.
 *
 * @param name         service name, {@code [a-z][a-z0-9-]{0,31}}, unique in the vassal; keys
 *                     the public port, so renaming a service gives it a new port
 * @param protocol     tcp, or tls (passthrough, only for the tenant's own domains by SNI)
 * @param internalPort port the tenant listens on, 1-65535
 */
public record PortService(String name, ServiceProtocol protocol, int internalPort) {

    public PortService {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(protocol, "protocol");
    }
}
