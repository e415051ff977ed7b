package dev.emperor.tunrouter;

/** Why the router refused a packet. Every dropped packet is counted under exactly one reason. */
public enum DropReason {
    /** Shorter than the headers it announces (IPv4 header, or the first fragment's TCP/UDP/ICMP header). */
    TRUNCATED,
    /** The version nibble is neither 4 nor 6. */
    BAD_VERSION,
    /** Version 6: Emperor's tenant network is IPv4 only. */
    IPV6_UNSUPPORTED,
    /** Header length below 20 bytes or beyond the frame. */
    BAD_IHL,
    /** IPv4 total length disagrees with the frame (shorter than the header, or trailing bytes). */
    BAD_LENGTH,
    /** Frame larger than the router's maximum frame size. */
    TOO_LARGE,
    /** Header checksum wrong (only when the router verifies checksums). */
    BAD_CHECKSUM,
    /** Reserved flag set, reassembly beyond 65535 bytes, or a TCP fragment at offset 8 (RFC 1858 overlap). */
    BAD_FRAGMENT,
    /**
     * The {@code virtio_net_hdr} before the packet is missing or does not fit it: unknown flags
     * or segmentation type, a checksum position other than the TCP or UDP checksum, TCP
     * segmentation of a packet that is not whole TCP, or lengths beyond the packet.
     */
    BAD_VIRTIO_HEADER,
    /** A tenant sent a packet whose source is not its own address. */
    SPOOFED_SOURCE,
    /** Between two tenant addresses: never routed, whatever the rules say. */
    TENANT_TO_TENANT,
    /** Denied by a firewall rule (built-in, the tenant's own, or the operator's) or by the default verdict. */
    FIREWALL,
    /** From the gateway to an address no attached tenant holds. */
    NO_ROUTE,
    /** Read from a tenant id that is not (or no longer) attached. */
    UNKNOWN_TENANT,
    /**
     * Routed, but its destination descriptor was full (EAGAIN) and so was the destination's
     * bounded queue in the packet pump. Counted on the tenant whose tun was full, or for a packet
     * to the gateway on the sending tenant, whose own queue towards the gateway was full (each
     * tenant has its own, so a flooder fills only its own); the packet was already counted as in
     * or out.
     */
    QUEUE_FULL,
    /** Routed, but the write to the destination descriptor failed with an error other than EAGAIN. */
    WRITE_FAILED,
    /**
     * Routed from the gateway to a tenant that is over its {@code net-rate}; counted on that
     * tenant. (Over its rate outwards, a tenant's frames wait in its own tun0 instead.)
     */
    OVER_RATE;

    private static final DropReason[] BY_ORDINAL = values();

    /** The reason with this ordinal, without the array copy {@code values()} makes on every call. */
    static DropReason ofOrdinal(int ordinal) {
        return BY_ORDINAL[ordinal];
    }

    static int count() {
        return BY_ORDINAL.length;
    }
}
