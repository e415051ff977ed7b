package dev.emperor.tunrouter;

/**
 * The private subnet tenants live in. Its first host address is the gateway ({@code emperor0}
 * in the host namespace); the network and broadcast addresses are never anyone's; every other
 * address can be one tenant's {@code tun0}.
 */
public final class TenantSubnet {
    private final Cidr cidr;

    /** Prefix from /8 (16 million tenants) to /30 (one tenant); no host bits set. */
    public TenantSubnet(Cidr cidr) {
        if (cidr.prefixLength() < 8 || cidr.prefixLength() > 30) {
            throw new IllegalArgumentException("tenant subnet " + cidr + ": the prefix must be from /8 to /30"
                    + " (a gateway, at least one tenant, a network and a broadcast address)");
        }
        this.cidr = cidr;
    }

    /** Parses e.g. {@code 10.200.0.0/16}; refuses host bits ({@code 10.200.0.5/16}), which usually mean a typo. */
    public static TenantSubnet parse(String text) {
        Cidr cidr = Cidr.parse(text);
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("tenant subnet '" + text + "' needs a prefix length, e.g. 10.200.0.0/16");
        }
        if (Cidr.parseAddress(text.substring(0, slash)) != cidr.network()) {
            throw new IllegalArgumentException("tenant subnet '" + text + "' has host bits set; did you mean " + cidr + "?");
        }
        return new TenantSubnet(cidr);
    }

    public Cidr cidr() {
        return cidr;
    }

    public int gateway() {
        return cidr.network() + 1;
    }

    public int broadcast() {
        return cidr.last();
    }

    public boolean contains(int address) {
        return cidr.contains(address);
    }

    /** True for an address a tenant may hold: inside, and not the network, gateway or broadcast address. */
    public boolean isTenantAddress(int address) {
        return cidr.contains(address) && address != cidr.network() && address != gateway() && address != broadcast();
    }

    public int firstTenantAddress() {
        return cidr.network() + 2;
    }

    public int lastTenantAddress() {
        return broadcast() - 1;
    }

    /** How many tenant addresses the subnet holds. */
    public int capacity() {
        return lastTenantAddress() - firstTenantAddress() + 1;
    }

    @Override
    public String toString() {
        return cidr.toString();
    }
}
