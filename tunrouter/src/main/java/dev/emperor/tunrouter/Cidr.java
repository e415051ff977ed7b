package dev.emperor.tunrouter;

/**
 * An IPv4 address block: {@code a.b.c.d} (a single address, /32) or {@code a.b.c.d/n}.
 * Addresses are ints in network order read as unsigned (10.0.0.1 is {@code 0x0a000001}).
 * Host bits in the text are cleared, as uWSGI does ({@code 10.1.2.3/8} is 10.0.0.0/8);
 * {@link TenantSubnet} is the place that refuses them.
 */
public final class Cidr {
    /** Every address: 0.0.0.0/0. */
    public static final Cidr ANY = new Cidr(0, 0);

    private final int network;
    private final int prefixLength;
    private final int mask;

    public Cidr(int address, int prefixLength) {
        if (prefixLength < 0 || prefixLength > 32) {
            throw new IllegalArgumentException("prefix length /" + prefixLength + " is not between 0 and 32");
        }
        this.prefixLength = prefixLength;
        this.mask = maskOf(prefixLength);
        this.network = address & mask;
    }

    /** Parses {@code a.b.c.d} or {@code a.b.c.d/n}; the exception message names the text. */
    public static Cidr parse(String text) {
        int slash = text.indexOf('/');
        String addressText = slash < 0 ? text : text.substring(0, slash);
        int address = parseAddress(addressText);
        if (slash < 0) {
            return new Cidr(address, 32);
        }
        String bits = text.substring(slash + 1);
        if (bits.isEmpty() || bits.length() > 2 || !allDigits(bits) || Integer.parseInt(bits) > 32) {
            throw new IllegalArgumentException("'" + text + "': mask '/" + bits + "' is not a number from 0 to 32");
        }
        return new Cidr(address, Integer.parseInt(bits));
    }

    /**
     * Parses a dotted quad strictly: four decimal numbers 0-255 without leading zeros (which
     * some tools read as octal, so "010" would be ambiguous).
     */
    public static int parseAddress(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("'" + text + "' is not an IPv4 address (expected a.b.c.d)");
        }
        int address = 0;
        for (String part : parts) {
            if (part.isEmpty() || part.length() > 3 || !allDigits(part) || (part.length() > 1 && part.charAt(0) == '0')) {
                throw new IllegalArgumentException("'" + text + "' is not an IPv4 address: bad part '" + part + "'");
            }
            int value = Integer.parseInt(part);
            if (value > 255) {
                throw new IllegalArgumentException("'" + text + "' is not an IPv4 address: " + value + " is above 255");
            }
            address = (address << 8) | value;
        }
        return address;
    }

    public static String format(int address) {
        return (address >>> 24) + "." + ((address >>> 16) & 0xff) + "." + ((address >>> 8) & 0xff) + "." + (address & 0xff);
    }

    static int maskOf(int prefixLength) {
        // A shift by 32 is a shift by 0 in Java (and undefined in C): /0 needs its own case.
        return prefixLength == 0 ? 0 : -1 << (32 - prefixLength);
    }

    private static boolean allDigits(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }

    public boolean contains(int address) {
        return (address & mask) == network;
    }

    public int network() {
        return network;
    }

    public int prefixLength() {
        return prefixLength;
    }

    public int mask() {
        return mask;
    }

    /** The last address of the block (the broadcast address of a subnet). */
    public int last() {
        return network | ~mask;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Cidr c && c.network == network && c.prefixLength == prefixLength;
    }

    @Override
    public int hashCode() {
        return network * 31 + prefixLength;
    }

    @Override
    public String toString() {
        return format(network) + "/" + prefixLength;
    }
}
