package dev.emperor.proxy;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where the proxy sends a tenant's traffic: a unix socket the tenant's app listens on (a
 * host path under the tenant's {@code /var/run}, so no networking is involved), or the
 * tenant's tun address and a port.
 */
public sealed interface Upstream {

    /** A unix stream socket, as a host path (e.g. {@code /run/emperor/vassals/shop/app.sock}). */
    record UnixSocket(Path path) implements Upstream {
        public UnixSocket {
            Objects.requireNonNull(path, "path");
        }

        @Override
        public String toString() {
            return "unix:" + path;
        }
    }

    /** A TCP address: the tenant's tun address (a literal IPv4 address, never a name) and port. */
    record Tcp(String address, int port) implements Upstream {
        public Tcp {
            Objects.requireNonNull(address, "address");
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
        }

        @Override
        public String toString() {
            return address + ":" + port;
        }
    }
}
