package dev.emperor.tunrouter;

import java.nio.ByteBuffer;

/**
 * The {@code virtio_net_hdr} (linux/virtio_net.h) that a tun opened with {@code IFF_VNET_HDR}
 * puts before every packet it hands over and expects before every packet written to it. Ten
 * bytes, little-endian (the x86_64 tun default):
 *
 * <pre>
 *   u8 flags, u8 gso_type, u16 hdr_len, u16 gso_size, u16 csum_start, u16 csum_offset
 * </pre>
 *
 * It tells the kernel that receives the packet what is left to do: fill in the TCP or UDP
 * checksum ({@code NEEDS_CSUM}: sum from {@code csum_start}, store at {@code csum_start +
 * csum_offset}), and cut a TCP super-packet into {@code gso_size} segments. The router forwards
 * it untouched, so the kernel on the other tun does that work, once per 64 KiB rather than once
 * per 1500 bytes.
 *
 * <p>A tenant's header is not trusted: {@link #describes} accepts only what a kernel produces
 * for the offloads Emperor enables (checksum offload and TCP over IPv4 segmentation), and only
 * when it agrees with the IPv4 packet after it. The receiving kernel checks headers again when
 * the pump writes them; a write it refuses is a counted drop.
 */
final class VirtioNetHeader {
    static final int LENGTH = 10;

    static final int FLAG_NEEDS_CSUM = 1;
    static final int FLAG_DATA_VALID = 2;
    static final int GSO_NONE = 0;
    static final int GSO_TCPV4 = 1;
    static final int GSO_ECN = 0x80;

    /** Offsets of the TCP and UDP checksum fields in their headers. */
    private static final int TCP_CHECKSUM_OFFSET = 16;
    private static final int UDP_CHECKSUM_OFFSET = 6;

    private VirtioNetHeader() {}

    /**
     * True when the header at {@code headerStart} fits the packet that {@code packet} views right
     * after it, which {@link Ipv4Packet#validate} has already accepted.
     */
    static boolean describes(ByteBuffer frame, int headerStart, Ipv4Packet packet) {
        int flags = frame.get(headerStart) & 0xff;
        int gsoType = frame.get(headerStart + 1) & 0xff;
        int headerLength = u16le(frame, headerStart + 2);
        int gsoSize = u16le(frame, headerStart + 4);
        int checksumStart = u16le(frame, headerStart + 6);
        int checksumOffset = u16le(frame, headerStart + 8);
        int length = packet.frameLength();

        // hdr_len is how much the kernel may copy as headers: never beyond the packet
        if (headerLength > length) {
            return false;
        }
        switch (flags) {
            case 0, FLAG_DATA_VALID -> {
                // nothing left to finish; the checksum fields are unused
            }
            case FLAG_NEEDS_CSUM -> {
                // only the TCP or UDP checksum of an unfragmented packet, starting at its header
                int expected = switch (packet.protocol()) {
                    case Ipv4Packet.PROTOCOL_TCP -> TCP_CHECKSUM_OFFSET;
                    case Ipv4Packet.PROTOCOL_UDP -> UDP_CHECKSUM_OFFSET;
                    default -> -1;
                };
                if (expected < 0 || packet.isFragment() || checksumStart != packet.headerLength()
                        || checksumOffset != expected || checksumStart + checksumOffset + 2 > length) {
                    return false;
                }
            }
            default -> {
                return false; // unknown flags, or both at once (no kernel writes that)
            }
        }
        switch (gsoType) {
            case GSO_NONE -> {
                return gsoSize == 0;
            }
            case GSO_TCPV4, GSO_TCPV4 | GSO_ECN -> {
                // a TCP super-packet: whole, its checksum left to finish, and cut into segments
                // of gso_size bytes that each carry at least one byte
                if (packet.protocol() != Ipv4Packet.PROTOCOL_TCP || packet.isFragment() || flags != FLAG_NEEDS_CSUM || gsoSize == 0) {
                    return false;
                }
                int tcpHeaderLength = ((frame.get(headerStart + LENGTH + packet.headerLength() + 12) & 0xff) >>> 4) * 4;
                return tcpHeaderLength >= 20 && packet.headerLength() + tcpHeaderLength <= length;
            }
            default -> {
                return false; // UDP, IPv6 or unknown segmentation: not enabled, so not expected
            }
        }
    }

    /**
     * How many packets the frame becomes on the wire: a TCP super-packet ({@code gso_type} not
     * none) is cut into segments of {@code gso_size} payload bytes each, ceil(payload / gso_size)
     * of them (at least one); any other frame is one packet. For a header that {@link #describes}
     * accepted.
     */
    static int wirePackets(ByteBuffer frame, int headerStart, Ipv4Packet packet) {
        if (frame.get(headerStart + 1) == GSO_NONE) {
            return 1;
        }
        int gsoSize = u16le(frame, headerStart + 4);
        int payload = packet.frameLength() - segmentHeadersLength(frame, headerStart, packet);
        return Math.max(1, (payload + gsoSize - 1) / gsoSize);
    }

    /**
     * The IPv4 and TCP headers that every segment of a super-packet carries (the receiving
     * kernel copies them into each); 0 for a frame that is not segmented.
     */
    static int segmentHeadersLength(ByteBuffer frame, int headerStart, Ipv4Packet packet) {
        if (frame.get(headerStart + 1) == GSO_NONE) {
            return 0;
        }
        int tcpHeaderLength = ((frame.get(headerStart + LENGTH + packet.headerLength() + 12) & 0xff) >>> 4) * 4;
        return packet.headerLength() + tcpHeaderLength;
    }

    private static int u16le(ByteBuffer frame, int at) {
        return (frame.get(at) & 0xff) | (frame.get(at + 1) & 0xff) << 8;
    }
}
