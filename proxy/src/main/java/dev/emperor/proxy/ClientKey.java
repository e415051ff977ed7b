package dev.emperor.proxy;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * A client as the connection limits count it: one IPv4 address, or one IPv6 /64. A single
 * subscriber usually gets a whole /64 and can pick any of its 2^64 addresses, so counting IPv6
 * addresses one by one would limit nobody. An IPv4-mapped IPv6 address is its IPv4 address.
 *
 * @param ipv6Prefix the upper 64 bits of an IPv6 address, 0 for IPv4
 * @param ipv4       0xFFFF_0000_0000 | the IPv4 address (never 0), or 0 for IPv6
 */
public record ClientKey(long ipv6Prefix, long ipv4) {

    /** Everything that is not an IP address (unix sockets in tests): one client. */
    static final ClientKey OTHER = new ClientKey(-1, -1);

    public static ClientKey of(SocketAddress address) {
        if (!(address instanceof InetSocketAddress inet) || inet.getAddress() == null) {
            return OTHER;
        }
        InetAddress ip = inet.getAddress();
        byte[] b = ip.getAddress();
        if (ip instanceof Inet4Address) {
            return v4(b, 0);
        }
        boolean mapped = true;
        for (int i = 0; i < 10; i++) {
            mapped &= b[i] == 0;
        }
        if (mapped && b[10] == (byte) 0xFF && b[11] == (byte) 0xFF) {
            return v4(b, 12);
        }
        long prefix = 0;
        for (int i = 0; i < 8; i++) {
            prefix = (prefix << 8) | (b[i] & 0xFF);
        }
        return new ClientKey(prefix, 0);
    }

    private static ClientKey v4(byte[] b, int at) {
        long v4 = ((b[at] & 0xFFL) << 24) | ((b[at + 1] & 0xFFL) << 16) | ((b[at + 2] & 0xFFL) << 8) | (b[at + 3] & 0xFFL);
        return new ClientKey(0, 0xFFFF_0000_0000L | v4);
    }

    @Override
    public String toString() {
        if (this.equals(OTHER)) {
            return "local";
        }
        if (ipv4 != 0) {
            return ((ipv4 >> 24) & 0xFF) + "." + ((ipv4 >> 16) & 0xFF) + "." + ((ipv4 >> 8) & 0xFF) + "." + (ipv4 & 0xFF);
        }
        return String.format("%x:%x:%x:%x::/64", (ipv6Prefix >>> 48) & 0xFFFF, (ipv6Prefix >>> 32) & 0xFFFF,
                (ipv6Prefix >>> 16) & 0xFFFF, ipv6Prefix & 0xFFFF);
    }
}
