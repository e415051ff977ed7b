package dev.emperor.tunrouter;

import static dev.emperor.tunrouter.Packets.ip;
import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A router reading frames from tuns opened with IFF_VNET_HDR: each frame is a virtio_net_hdr and
 * an IPv4 packet. Headers the kernel writes for checksum offload and TCP segmentation pass
 * untouched; anything else from a (hostile) tenant is dropped as {@link DropReason#BAD_VIRTIO_HEADER}.
 */
class VirtioNetHeaderTest {
    private static final TenantSubnet SUBNET = TenantSubnet.parse("10.200.0.0/16");
    private static final int FLAGS = 0;
    private static final int GSO_TYPE = 1;
    private static final int HDR_LEN = 2;
    private static final int GSO_SIZE = 4;
    private static final int CSUM_START = 6;
    private static final int CSUM_OFFSET = 8;

    private Router router;
    private int alice;

    @BeforeEach
    void attachATenant() {
        router = new Router(new Firewall(SUBNET, FirewallRules.NONE, Verdict.ALLOW), 65535, true, true);
        alice = router.attach("alice", ip("10.200.0.2"), FirewallRules.NONE);
    }

    /** A 60000-byte TCP packet as the kernel hands over a TSO super-packet: checksum and segmentation left to do. */
    private static ByteBuffer superPacket() {
        byte[] packet = Packets.header(ip("10.200.0.2"), ip("93.184.216.34"), Ipv4Packet.PROTOCOL_TCP, 60000 - 20, 0, false);
        packet[20 + 12] = 0x50; // TCP data offset: 20 bytes
        ByteBuffer frame = withHeader(packet);
        frame.put(FLAGS, (byte) VirtioNetHeader.FLAG_NEEDS_CSUM).put(GSO_TYPE, (byte) VirtioNetHeader.GSO_TCPV4)
                .putShort(HDR_LEN, (short) 40).putShort(GSO_SIZE, (short) 1448)
                .putShort(CSUM_START, (short) 20).putShort(CSUM_OFFSET, (short) 16);
        return frame;
    }

    /** A small UDP packet whose checksum is left to the receiving kernel. */
    private static ByteBuffer udpNeedingChecksum() {
        ByteBuffer frame = withHeader(Packets.udp("10.200.0.2", "93.184.216.34", 53).array());
        frame.put(FLAGS, (byte) VirtioNetHeader.FLAG_NEEDS_CSUM).putShort(CSUM_START, (short) 20).putShort(CSUM_OFFSET, (short) 6);
        return frame;
    }

    /** The packet behind an all-zero header (nothing left to do), little-endian like the kernel's. */
    private static ByteBuffer withHeader(byte[] packet) {
        ByteBuffer frame = ByteBuffer.allocate(VirtioNetHeader.LENGTH + packet.length).order(ByteOrder.LITTLE_ENDIAN);
        frame.position(VirtioNetHeader.LENGTH);
        frame.put(packet).flip();
        return frame;
    }

    @Test
    void aTcpSuperPacketIsForwardedWithItsHeaderUntouchedAndCountedAsTheSegmentsOnTheWire() {
        ByteBuffer frame = superPacket();
        byte[] before = frame.array().clone();
        assertThat(router.fromTenant(alice, frame)).isEqualTo(Router.TO_GATEWAY);
        assertThat(frame.array()).isEqualTo(before);
        assertThat(frame.position()).isZero();
        // 59960 payload bytes in segments of 1448: 42 packets, each with the 40 bytes of headers
        assertThat(router.counters(alice).snapshot().packetsOut()).isEqualTo(42);
        assertThat(router.counters(alice).snapshot().bytesOut()).isEqualTo(60000 + 41 * 40);
    }

    /** A super-packet of {@code payload} TCP payload bytes behind 20 + 32 bytes of headers, cut at {@code gsoSize}. */
    private static ByteBuffer superPacket(String source, String destination, int payload, int gsoSize) {
        byte[] packet = Packets.header(ip(source), ip(destination), Ipv4Packet.PROTOCOL_TCP, 32 + payload, 0, false);
        packet[20 + 12] = (byte) 0x80; // TCP data offset: 32 bytes (timestamps), as Linux sends
        ByteBuffer frame = withHeader(packet);
        frame.put(FLAGS, (byte) VirtioNetHeader.FLAG_NEEDS_CSUM).put(GSO_TYPE, (byte) VirtioNetHeader.GSO_TCPV4)
                .putShort(HDR_LEN, (short) 52).putShort(GSO_SIZE, (short) gsoSize)
                .putShort(CSUM_START, (short) 20).putShort(CSUM_OFFSET, (short) 16);
        return frame;
    }

    private static int wirePackets(ByteBuffer frame) {
        Ipv4Packet packet = new Ipv4Packet().wrap(frame, VirtioNetHeader.LENGTH);
        assertThat(packet.validate(65535, true)).isNull();
        assertThat(VirtioNetHeader.describes(frame, 0, packet)).isTrue();
        return VirtioNetHeader.wirePackets(frame, 0, packet);
    }

    @Test
    void theSegmentCountIsThePayloadOverTheSegmentSizeRoundedUp() {
        assertThat(wirePackets(superPacket("10.200.0.2", "93.184.216.34", 10 * 1448, 1448))).isEqualTo(10);
        assertThat(wirePackets(superPacket("10.200.0.2", "93.184.216.34", 10 * 1448 + 1, 1448))).isEqualTo(11);
        assertThat(wirePackets(superPacket("10.200.0.2", "93.184.216.34", 1, 1448))).isEqualTo(1);
        assertThat(wirePackets(superPacket("10.200.0.2", "93.184.216.34", 65535 - 52, 536))).isEqualTo(123);
        // ECN marks the type; the count is the same
        ByteBuffer ecn = superPacket("10.200.0.2", "93.184.216.34", 3000, 1000);
        ecn.put(GSO_TYPE, (byte) (VirtioNetHeader.GSO_TCPV4 | VirtioNetHeader.GSO_ECN));
        assertThat(wirePackets(ecn)).isEqualTo(3);
        // not segmented: one packet, whatever its size
        assertThat(wirePackets(udpNeedingChecksum())).isEqualTo(1);
    }

    @Test
    void superPacketsInAreCountedAsTheirSegmentsToo() {
        ByteBuffer frame = superPacket("93.184.216.34", "10.200.0.2", 20 * 1448 + 100, 1448);
        assertThat(router.fromGateway(frame)).isEqualTo(alice);
        TenantCounters.Snapshot counted = router.counters(alice).snapshot();
        assertThat(counted.packetsIn()).isEqualTo(21);
        assertThat(counted.bytesIn()).isEqualTo(20 * 1448 + 100 + 21 * 52L);
    }

    @Test
    void checksumOffloadAndAlreadyCheckedPacketsPassBothWays() {
        assertThat(router.fromTenant(alice, udpNeedingChecksum())).isEqualTo(Router.TO_GATEWAY);
        ByteBuffer verified = withHeader(Packets.tcp("93.184.216.34", "10.200.0.2", 40000).array());
        verified.put(FLAGS, (byte) VirtioNetHeader.FLAG_DATA_VALID);
        assertThat(router.fromGateway(verified)).isEqualTo(alice);
        ByteBuffer plain = withHeader(Packets.icmp("93.184.216.34", "10.200.0.2", 0, 0).array());
        assertThat(router.fromGateway(plain)).isEqualTo(alice);
        assertThat(router.counters(alice).snapshot().totalDrops()).isZero();
    }

    static Stream<Arguments> headersThatDoNotFitTheirPacket() {
        return Stream.of(
                bad("an unknown flag", f -> f.put(FLAGS, (byte) 0x05)),
                bad("both flags at once", f -> f.put(FLAGS, (byte) 0x03)),
                bad("UDP segmentation (not enabled)", f -> f.put(GSO_TYPE, (byte) 3)),
                bad("IPv6 TCP segmentation of an IPv4 packet", f -> f.put(GSO_TYPE, (byte) 4)),
                bad("UDP L4 segmentation (not enabled)", f -> f.put(GSO_TYPE, (byte) 5)),
                bad("an unknown segmentation type", f -> f.put(GSO_TYPE, (byte) 0x7f)),
                bad("segmentation without checksum offload", f -> f.put(FLAGS, (byte) 0)),
                bad("segmentation into empty segments", f -> f.putShort(GSO_SIZE, (short) 0)),
                bad("a segment size without segmentation", f -> f.put(GSO_TYPE, (byte) 0)),
                bad("ECN without segmentation", f -> f.put(GSO_TYPE, (byte) 0x80)),
                bad("a checksum starting in the IPv4 header", f -> f.putShort(CSUM_START, (short) 0)),
                bad("a checksum starting past the TCP header's start", f -> f.putShort(CSUM_START, (short) 24)),
                bad("the UDP checksum offset on TCP", f -> f.putShort(CSUM_OFFSET, (short) 6)),
                bad("headers longer than the packet", f -> f.putShort(HDR_LEN, (short) 60001)),
                bad("a TCP header longer than the packet", f -> truncateTcpHeader(f)),
                bad("segmentation of a fragment", f -> fragment(f)));
    }

    private static Arguments bad(String what, Consumer<ByteBuffer> damage) {
        return Arguments.of(what, damage);
    }

    /** Data offset 15 (60 bytes) on a 40-byte TCP packet. */
    private static void truncateTcpHeader(ByteBuffer superPacket) {
        byte[] packet = Packets.header(ip("10.200.0.2"), ip("93.184.216.34"), Ipv4Packet.PROTOCOL_TCP, 20, 0, false);
        packet[20 + 12] = (byte) 0xf0;
        superPacket.limit(VirtioNetHeader.LENGTH + packet.length);
        superPacket.put(VirtioNetHeader.LENGTH, packet);
        superPacket.putShort(HDR_LEN, (short) 40);
    }

    private static void fragment(ByteBuffer superPacket) {
        byte[] packet = new byte[superPacket.limit() - VirtioNetHeader.LENGTH];
        superPacket.get(VirtioNetHeader.LENGTH, packet);
        packet[6] = 0x20; // more fragments
        Packets.fixChecksum(packet);
        superPacket.put(VirtioNetHeader.LENGTH, packet);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("headersThatDoNotFitTheirPacket")
    void aHeaderThatDoesNotFitItsPacketIsDroppedAndCounted(String what, Consumer<ByteBuffer> damage) {
        ByteBuffer frame = superPacket();
        damage.accept(frame);
        assertThat(Router.dropReason(router.fromTenant(alice, frame))).isEqualTo(DropReason.BAD_VIRTIO_HEADER);
        assertThat(router.counters(alice).snapshot().drops(DropReason.BAD_VIRTIO_HEADER)).isEqualTo(1);
        assertThat(router.counters(alice).snapshot().packetsOut()).isZero();
    }

    @Test
    void checksumOffloadOfAnythingButTcpOrUdpIsDropped() {
        ByteBuffer frame = withHeader(Packets.icmp("10.200.0.2", "93.184.216.34", 8, 0).array());
        frame.put(FLAGS, (byte) VirtioNetHeader.FLAG_NEEDS_CSUM).putShort(CSUM_START, (short) 20).putShort(CSUM_OFFSET, (short) 2);
        assertThat(Router.dropReason(router.fromTenant(alice, frame))).isEqualTo(DropReason.BAD_VIRTIO_HEADER);
    }

    @Test
    void aFrameShorterThanTheHeaderIsDropped() {
        ByteBuffer frame = ByteBuffer.allocate(6);
        assertThat(Router.dropReason(router.fromTenant(alice, frame))).isEqualTo(DropReason.BAD_VIRTIO_HEADER);
        assertThat(Router.dropReason(router.fromGateway(frame))).isEqualTo(DropReason.BAD_VIRTIO_HEADER);
    }

    @Test
    void theIpv4ChecksStillApplyBehindAGoodHeader() {
        ByteBuffer frame = superPacket();
        frame.put(VirtioNetHeader.LENGTH + 10, (byte) ~frame.get(VirtioNetHeader.LENGTH + 10));
        assertThat(Router.dropReason(router.fromTenant(alice, frame))).isEqualTo(DropReason.BAD_CHECKSUM);
        ByteBuffer spoofed = withHeader(Packets.tcp("10.200.0.9", "93.184.216.34", 443).array());
        assertThat(Router.dropReason(router.fromTenant(alice, spoofed))).isEqualTo(DropReason.SPOOFED_SOURCE);
    }

    @Test
    void randomHeadersInFrontOfValidPacketsNeverThrowAndAreForwardedOrCounted() {
        Random random = new Random(0x7e55_2026L);
        ByteBuffer[] templates = {superPacket(), udpNeedingChecksum()};
        ByteBuffer frame = ByteBuffer.allocate(templates[0].limit());
        long forwarded = 0;
        long onTheWire = 0;
        for (int n = 0; n < 50_000; n++) {
            frame.clear();
            frame.put(templates[random.nextInt(2)].duplicate()).flip();
            if (random.nextInt(4) != 0) {
                frame.put(random.nextInt(VirtioNetHeader.LENGTH), (byte) random.nextInt());
            }
            int result = router.fromTenant(alice, frame);
            assertThat(result == Router.TO_GATEWAY || Router.dropReason(result) == DropReason.BAD_VIRTIO_HEADER).isTrue();
            if (result == Router.TO_GATEWAY) {
                forwarded++;
                onTheWire += wirePackets(frame);
            }
        }
        TenantCounters.Snapshot counted = router.counters(alice).snapshot();
        assertThat(counted.packetsOut()).isEqualTo(onTheWire);
        assertThat(forwarded + counted.drops(DropReason.BAD_VIRTIO_HEADER)).isEqualTo(50_000);
        assertThat(forwarded).isBetween(5_000L, 45_000L);
    }

    @Test
    void checkingTheHeaderAllocatesNothing() {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        Assumptions.assumeTrue(bean instanceof com.sun.management.ThreadMXBean);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) bean;
        ByteBuffer frame = ByteBuffer.allocateDirect(superPacket().limit()).put(superPacket()).flip();
        ByteBuffer udp = udpNeedingChecksum();
        for (int i = 0; i < 20_000; i++) {
            router.fromTenant(alice, frame);
            router.fromTenant(alice, udp);
        }
        long thread = Thread.currentThread().threadId();
        long before = threads.getThreadAllocatedBytes(thread);
        for (int i = 0; i < 100_000; i++) {
            router.fromTenant(alice, frame);
            router.fromTenant(alice, udp);
        }
        assertThat(threads.getThreadAllocatedBytes(thread) - before).as("bytes allocated for 200000 packets").isLessThan(10_000);
    }
}
