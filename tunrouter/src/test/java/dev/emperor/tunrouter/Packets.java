package dev.emperor.tunrouter;

import java.nio.ByteBuffer;

/** Builds IPv4 frames for tests, with correct header checksums unless told otherwise. */
final class Packets {
    private Packets() {
    }

    static int ip(String dotted) {
        return Cidr.parseAddress(dotted);
    }

    static ByteBuffer tcp(String src, String dst, int dstPort) {
        return transport(ip(src), ip(dst), Ipv4Packet.PROTOCOL_TCP, 40000, dstPort, 20, 0, false);
    }

    static ByteBuffer udp(String src, String dst, int dstPort) {
        return transport(ip(src), ip(dst), Ipv4Packet.PROTOCOL_UDP, 40000, dstPort, 8, 0, false);
    }

    static ByteBuffer icmp(String src, String dst, int type, int code) {
        byte[] frame = header(ip(src), ip(dst), Ipv4Packet.PROTOCOL_ICMP, 8 + 28, 0, false);
        frame[20] = (byte) type;
        frame[21] = (byte) code;
        return ByteBuffer.wrap(frame);
    }

    /** A TCP or UDP packet with a payload after an {@code l4Length}-byte header. */
    static ByteBuffer transport(int src, int dst, int protocol, int srcPort, int dstPort, int l4Length,
                                int fragmentOffsetBytes, boolean moreFragments) {
        byte[] frame = header(src, dst, protocol, l4Length + 12, fragmentOffsetBytes, moreFragments);
        frame[20] = (byte) (srcPort >>> 8);
        frame[21] = (byte) srcPort;
        frame[22] = (byte) (dstPort >>> 8);
        frame[23] = (byte) dstPort;
        return ByteBuffer.wrap(frame);
    }

    /** A 20-byte IPv4 header followed by {@code payload} zero bytes, checksum set. */
    static byte[] header(int src, int dst, int protocol, int payload, int fragmentOffsetBytes, boolean moreFragments) {
        byte[] frame = new byte[20 + payload];
        frame[0] = 0x45;
        frame[2] = (byte) (frame.length >>> 8);
        frame[3] = (byte) frame.length;
        int flagsOffset = (moreFragments ? 0x2000 : 0) | (fragmentOffsetBytes / 8);
        frame[6] = (byte) (flagsOffset >>> 8);
        frame[7] = (byte) flagsOffset;
        frame[8] = 64;
        frame[9] = (byte) protocol;
        putInt(frame, 12, src);
        putInt(frame, 16, dst);
        fixChecksum(frame);
        return frame;
    }

    static void putInt(byte[] frame, int at, int value) {
        frame[at] = (byte) (value >>> 24);
        frame[at + 1] = (byte) (value >>> 16);
        frame[at + 2] = (byte) (value >>> 8);
        frame[at + 3] = (byte) value;
    }

    static void fixChecksum(byte[] frame) {
        if (frame.length < 20) {
            return;
        }
        int ihl = Math.min((frame[0] & 0x0f) * 4, frame.length & ~1);
        frame[10] = 0;
        frame[11] = 0;
        int sum = 0;
        for (int i = 0; i < ihl; i += 2) {
            sum += ((frame[i] & 0xff) << 8) | (frame[i + 1] & 0xff);
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        int checksum = ~sum & 0xffff;
        frame[10] = (byte) (checksum >>> 8);
        frame[11] = (byte) checksum;
    }
}
