package dev.emperor.supervisor.config;

import dev.emperor.proxy.l4.ServiceProtocol;
import java.util.Objects;

/**
 * A service a vassal offers on a public port ({@code port = NAME PROTO INTERNAL_PORT [proxy-protocol]}): the
 * proxy allocates the public port and forwards it to {@code internalPort} on the tenant's
 * tun address.
 *
 * @param name         service name, {@code [a-z][a-z0-9-]{0,31}}, unique in the vassal; keys
 *                     the public port, so renaming a service gives it a new port
 * @param protocol     tcp, or tls (passthrough, only for the tenant's own domains by SNI)
 * @param internalPort port the tenant listens on, 1-65535
 * @param proxyProtocol each connection to the tenant starts with a PROXY protocol v2 header
 *                     naming the client's address ({@code proxy-protocol})
 */
public record PortService(String name, ServiceProtocol protocol, int internalPort, boolean proxyProtocol) {

    /** The keyword after INTERNAL_PORT that asks for the PROXY header. */
    public static final String PROXY_PROTOCOL = "proxy-protocol";

    public PortService {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(protocol, "protocol");
    }

    /** A service without the PROXY header. */
    public PortService(String name, ServiceProtocol protocol, int internalPort) {
        this(name, protocol, internalPort, false);
    }
}
