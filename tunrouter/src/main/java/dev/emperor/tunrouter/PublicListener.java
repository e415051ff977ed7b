package dev.emperor.tunrouter;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Optional;

/**
 * A TCP port the platform serves to the world on the host's own addresses (the front proxy's
 * listeners, tenants' public ports), which tenants may reach there too, as an outside client
 * would ("hairpin"; see {@link NatTable}). Nothing else on the host is opened by it.
 *
 * @param address the IPv4 address listened on, or {@link #EVERY_ADDRESS} for a wildcard listener
 * @param port    1 to 65535
 */
public record PublicListener(int address, int port) {
    /** A listener on 0.0.0.0 (or [::], which also takes IPv4): every address of the host. */
    public static final int EVERY_ADDRESS = 0;

    public PublicListener {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is not from 1 to 65535");
        }
    }

    /**
     * The listener a bound socket address makes reachable to tenants: a wildcard is every host
     * address, an IPv4 address itself. Empty for the host's loopback (a tenant's 127.0.0.1 is its
     * own, and the router never lets 127.0.0.0/8 out) and for IPv6 addresses (tenants have no IPv6).
     */
    public static Optional<PublicListener> reachableByTenants(InetSocketAddress bound) {
        InetAddress address = bound.getAddress();
        if (address == null || address.isLoopbackAddress()) {
            return Optional.empty();
        }
        if (address.isAnyLocalAddress()) {
            return Optional.of(new PublicListener(EVERY_ADDRESS, bound.getPort()));
        }
        if (address instanceof Inet4Address v4) {
            byte[] b = v4.getAddress();
            int value = (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
            return Optional.of(new PublicListener(value, bound.getPort()));
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return (address == EVERY_ADDRESS ? "*" : Cidr.format(address)) + ":" + port;
    }
}
