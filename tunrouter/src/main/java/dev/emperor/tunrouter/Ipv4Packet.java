package dev.emperor.tunrouter;

import java.nio.ByteBuffer;

/**
 * A reusable view of one IPv4 packet in a buffer: {@link #wrap} points it at a frame (from the
 * buffer's position to its limit, which it leaves alone), {@link #validate} checks the headers
 * and only then are the accessors meaningful. Nothing is copied and nothing is allocated, so one
 * instance serves every packet a thread handles.
 *
 * <p>Bytes are read one by one in network order, so the buffer's own byte order does not matter.
 * Tenants are hostile: every length in the packet is checked against the frame before it is
 * used, and a bad packet yields a {@link DropReason}, never an exception.
 */
public final class Ipv4Packet {
    public static final int PROTOCOL_ICMP = 1;
    public static final int PROTOCOL_TCP = 6;
    public static final int PROTOCOL_UDP = 17;

    /** ICMP "destination unreachable", code "fragmentation needed": path-MTU discovery (RFC 1191). */
    public static final int ICMP_DESTINATION_UNREACHABLE = 3;
    public static final int ICMP_FRAGMENTATION_NEEDED = 4;

    private static final int MIN_HEADER = 20;
    private static final int MAX_DATAGRAM = 65535;

    private ByteBuffer buffer;
    private int start;
    private int length;
    private int headerLength;
    private int fragmentOffset;

    /** Views {@code frame} from its position to its limit. Returns this, for chaining. */
    public Ipv4Packet wrap(ByteBuffer frame) {
        this.buffer = frame;
        this.start = frame.position();
        this.length = frame.remaining();
        this.headerLength = 0;
        this.fragmentOffset = 0;
        return this;
    }

    /** Views {@code frame} from {@code start} to its limit (after a header the caller has read). */
    Ipv4Packet wrap(ByteBuffer frame, int start) {
        this.buffer = frame;
        this.start = start;
        this.length = frame.limit() - start;
        this.headerLength = 0;
        this.fragmentOffset = 0;
        return this;
    }

    /** Frame length in bytes (what the tun device gave us, less any header before the packet). */
    public int frameLength() {
        return length;
    }

    /**
     * Checks the frame, in this order: size, version, header length, total length, fragment
     * fields, header checksum (if asked), and that a first fragment holds its whole TCP (20
     * bytes), UDP (8) or ICMP (8) header, so that rules on ports and ICMP types can never be
     * dodged by splitting a header across fragments (RFC 1858). Returns null when the packet is
     * fit to route, else why not.
     */
    public DropReason validate(int maxFrameBytes, boolean verifyChecksum) {
        if (length > maxFrameBytes) {
            return DropReason.TOO_LARGE;
        }
        if (length < 1) {
            return DropReason.TRUNCATED;
        }
        int version = u8(0) >>> 4;
        if (version == 6) {
            return DropReason.IPV6_UNSUPPORTED;
        }
        if (version != 4) {
            return DropReason.BAD_VERSION;
        }
        if (length < MIN_HEADER) {
            return DropReason.TRUNCATED;
        }
        int ihl = (u8(0) & 0x0f) * 4;
        if (ihl < MIN_HEADER || ihl > length) {
            return DropReason.BAD_IHL;
        }
        int totalLength = u16(2);
        if (totalLength > length) {
            return DropReason.TRUNCATED;
        }
        // A tun device hands over exactly one datagram: trailing bytes are not ours to forward.
        if (totalLength < ihl || totalLength != length) {
            return DropReason.BAD_LENGTH;
        }
        int flagsAndOffset = u16(6);
        if ((flagsAndOffset & 0x8000) != 0) {
            return DropReason.BAD_FRAGMENT; // reserved flag
        }
        int offset = (flagsAndOffset & 0x1fff) * 8;
        if (offset + (totalLength - ihl) > MAX_DATAGRAM) {
            return DropReason.BAD_FRAGMENT; // would reassemble beyond 64 KiB ("ping of death")
        }
        int protocol = u8(9);
        if (offset == 8 && protocol == PROTOCOL_TCP) {
            return DropReason.BAD_FRAGMENT; // would overwrite the TCP flags of the first fragment
        }
        if (verifyChecksum && !headerChecksumValid(ihl)) {
            return DropReason.BAD_CHECKSUM;
        }
        if (offset == 0) {
            int needed = switch (protocol) {
                case PROTOCOL_TCP -> 20;
                case PROTOCOL_UDP, PROTOCOL_ICMP -> 8;
                default -> 0;
            };
            if (totalLength - ihl < needed) {
                return DropReason.TRUNCATED;
            }
        }
        this.headerLength = ihl;
        this.fragmentOffset = offset;
        return null;
    }

    private boolean headerChecksumValid(int ihl) {
        int sum = 0;
        for (int i = 0; i < ihl; i += 2) {
            sum += u16(i);
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return sum == 0xffff;
    }

    public int headerLength() {
        return headerLength;
    }

    public int totalLength() {
        return u16(2);
    }

    public int protocol() {
        return u8(9);
    }

    public int source() {
        return u32(12);
    }

    public int destination() {
        return u32(16);
    }

    /** Byte offset of this fragment in the original datagram (0 for the first or only one). */
    public int fragmentOffset() {
        return fragmentOffset;
    }

    /** True for any piece of a fragmented datagram (more fragments follow, or offset > 0). */
    public boolean isFragment() {
        return fragmentOffset != 0 || (u16(6) & 0x2000) != 0;
    }

    /** True when TCP/UDP ports are readable: TCP or UDP, and the first (or only) fragment. */
    public boolean hasPorts() {
        int protocol = protocol();
        return fragmentOffset == 0 && (protocol == PROTOCOL_TCP || protocol == PROTOCOL_UDP);
    }

    /** TCP/UDP source port, or -1 when {@link #hasPorts()} is false. */
    public int sourcePort() {
        return hasPorts() ? u16(headerLength) : -1;
    }

    /** TCP/UDP destination port, or -1 when {@link #hasPorts()} is false. */
    public int destinationPort() {
        return hasPorts() ? u16(headerLength + 2) : -1;
    }

    /** ICMP type, or -1 when not ICMP or not the first fragment. */
    public int icmpType() {
        return fragmentOffset == 0 && protocol() == PROTOCOL_ICMP ? u8(headerLength) : -1;
    }

    /** ICMP code, or -1 when not ICMP or not the first fragment. */
    public int icmpCode() {
        return fragmentOffset == 0 && protocol() == PROTOCOL_ICMP ? u8(headerLength + 1) : -1;
    }

    private int u8(int offset) {
        return buffer.get(start + offset) & 0xff;
    }

    private int u16(int offset) {
        return (u8(offset) << 8) | u8(offset + 1);
    }

    private int u32(int offset) {
        return (u16(offset) << 16) | u16(offset + 2);
    }
}
