package dev.emperor.proxy.l4;

import java.util.Locale;
import java.util.Optional;

/** How a public port carries a tenant's service, as written in a vassal file's {@code port} key. */
public enum ServiceProtocol {
    /** Plain TCP: bytes are relayed as they come. */
    TCP,
    /**
     * TLS passthrough: the proxy reads the ClientHello's server name, refuses names that are not
     * the tenant's domains, then relays every byte unchanged; the tenant terminates TLS itself.
     */
    TLS;

    /** The lower-case name used in vassal files and in the state database. */
    public String stored() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<ServiceProtocol> fromStored(String text) {
        for (ServiceProtocol p : values()) {
            if (p.stored().equals(text)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
