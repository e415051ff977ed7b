package dev.emperor.tunrouter;

import static dev.emperor.tunrouter.Packets.ip;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class Ipv4PacketTest {
    private final Ipv4Packet packet = new Ipv4Packet();

    private DropReason validate(byte[] frame) {
        return packet.wrap(ByteBuffer.wrap(frame)).validate(65535, true);
    }

    private static byte[] bytes(ByteBuffer buffer) {
        return buffer.array();
    }

    @Test
    void readsAddressesProtocolAndPortsOfAValidTcpPacket() {
        ByteBuffer frame = Packets.tcp("10.200.0.2", "93.184.216.34", 443);
        assertThat(packet.wrap(frame).validate(1500, true)).isNull();
        assertThat(packet.source()).isEqualTo(ip("10.200.0.2"));
        assertThat(packet.destination()).isEqualTo(ip("93.184.216.34"));
        assertThat(packet.protocol()).isEqualTo(Ipv4Packet.PROTOCOL_TCP);
        assertThat(packet.hasPorts()).isTrue();
        assertThat(packet.sourcePort()).isEqualTo(40000);
        assertThat(packet.destinationPort()).isEqualTo(443);
        assertThat(packet.icmpType()).isEqualTo(-1);
        assertThat(packet.isFragment()).isFalse();
    }

    @Test
    void readsTheFrameBetweenPositionAndLimitWhateverTheByteOrder() {
        byte[] inner = bytes(Packets.udp("10.200.0.2", "8.8.8.8", 53));
        ByteBuffer buffer = ByteBuffer.allocateDirect(inner.length + 10).order(ByteOrder.LITTLE_ENDIAN);
        buffer.position(5);
        buffer.put(inner);
        buffer.position(5).limit(5 + inner.length);
        assertThat(packet.wrap(buffer).validate(1500, true)).isNull();
        assertThat(packet.destination()).isEqualTo(ip("8.8.8.8"));
        assertThat(packet.destinationPort()).isEqualTo(53);
        assertThat(buffer.position()).isEqualTo(5);
    }

    @Test
    void readsIcmpTypeAndCode() {
        assertThat(packet.wrap(Packets.icmp("1.2.3.4", "10.200.0.2", 3, 4)).validate(1500, true)).isNull();
        assertThat(packet.icmpType()).isEqualTo(3);
        assertThat(packet.icmpCode()).isEqualTo(4);
        assertThat(packet.hasPorts()).isFalse();
        assertThat(packet.destinationPort()).isEqualTo(-1);
    }

    @Test
    void laterFragmentsHaveNoPorts() {
        ByteBuffer fragment = Packets.transport(ip("10.200.0.2"), ip("8.8.8.8"), Ipv4Packet.PROTOCOL_UDP, 1, 53, 8, 1480, false);
        assertThat(packet.wrap(fragment).validate(1500, true)).isNull();
        assertThat(packet.isFragment()).isTrue();
        assertThat(packet.fragmentOffset()).isEqualTo(1480);
        assertThat(packet.hasPorts()).isFalse();
        assertThat(packet.destinationPort()).isEqualTo(-1);
    }

    @Test
    void firstFragmentCarriesPorts() {
        ByteBuffer first = Packets.transport(ip("10.200.0.2"), ip("8.8.8.8"), Ipv4Packet.PROTOCOL_UDP, 1, 53, 8, 0, true);
        assertThat(packet.wrap(first).validate(1500, true)).isNull();
        assertThat(packet.isFragment()).isTrue();
        assertThat(packet.destinationPort()).isEqualTo(53);
    }

    @Test
    void emptyAndShortFramesAreTruncated() {
        assertThat(validate(new byte[0])).isEqualTo(DropReason.TRUNCATED);
        assertThat(validate(new byte[] {0x45, 0, 0, 10})).isEqualTo(DropReason.TRUNCATED);
    }

    @Test
    void versionSixIsUnsupportedAndOtherVersionsAreBad() {
        byte[] frame = bytes(Packets.tcp("10.200.0.2", "1.1.1.1", 80));
        frame[0] = 0x60;
        assertThat(validate(frame)).isEqualTo(DropReason.IPV6_UNSUPPORTED);
        frame[0] = 0x25;
        assertThat(validate(frame)).isEqualTo(DropReason.BAD_VERSION);
    }

    @Test
    void headerLengthBelowFiveWordsOrBeyondTheFrameIsBad() {
        byte[] frame = bytes(Packets.tcp("10.200.0.2", "1.1.1.1", 80));
        frame[0] = 0x44;
        assertThat(validate(frame)).isEqualTo(DropReason.BAD_IHL);
        byte[] small = Packets.header(ip("10.200.0.2"), ip("1.1.1.1"), 99, 4, 0, false);
        small[0] = 0x4f; // 60-byte header in a 24-byte frame
        assertThat(validate(small)).isEqualTo(DropReason.BAD_IHL);
    }

    @Test
    void totalLengthMustMatchTheFrame() {
        byte[] frame = bytes(Packets.tcp("10.200.0.2", "1.1.1.1", 80));
        frame[2] = (byte) 0xff; // 65xxx bytes announced
        Packets.fixChecksum(frame);
        assertThat(validate(frame)).isEqualTo(DropReason.TRUNCATED);
        frame[2] = 0;
        frame[3] = 10; // shorter than the header
        Packets.fixChecksum(frame);
        assertThat(validate(frame)).isEqualTo(DropReason.BAD_LENGTH);
        frame[3] = (byte) (frame.length - 4); // trailing bytes
        Packets.fixChecksum(frame);
        assertThat(validate(frame)).isEqualTo(DropReason.BAD_LENGTH);
    }

    @Test
    void framesAboveTheLimitAreTooLarge() {
        ByteBuffer frame = ByteBuffer.wrap(Packets.header(ip("10.200.0.2"), ip("1.1.1.1"), 99, 2000, 0, false));
        assertThat(packet.wrap(frame).validate(1500, true)).isEqualTo(DropReason.TOO_LARGE);
        assertThat(packet.wrap(frame).validate(65535, true)).isNull();
    }

    @Test
    void badChecksumIsDroppedOnlyWhenChecked() {
        byte[] frame = bytes(Packets.tcp("10.200.0.2", "1.1.1.1", 80));
        frame[10] ^= 0x55;
        assertThat(packet.wrap(ByteBuffer.wrap(frame)).validate(1500, true)).isEqualTo(DropReason.BAD_CHECKSUM);
        assertThat(packet.wrap(ByteBuffer.wrap(frame)).validate(1500, false)).isNull();
    }

    @Test
    void firstFragmentTooShortForItsTransportHeaderIsTruncated() {
        ByteBuffer tinyTcp = ByteBuffer.wrap(Packets.header(ip("10.200.0.2"), ip("1.1.1.1"), Ipv4Packet.PROTOCOL_TCP, 8, 0, true));
        assertThat(packet.wrap(tinyTcp).validate(1500, true)).isEqualTo(DropReason.TRUNCATED);
        ByteBuffer tinyUdp = ByteBuffer.wrap(Packets.header(ip("10.200.0.2"), ip("1.1.1.1"), Ipv4Packet.PROTOCOL_UDP, 4, 0, false));
        assertThat(packet.wrap(tinyUdp).validate(1500, true)).isEqualTo(DropReason.TRUNCATED);
    }

    @Test
    void overlappingTcpFragmentReservedFlagAndOversizedReassemblyAreBadFragments() {
        ByteBuffer overlap = ByteBuffer.wrap(Packets.header(ip("10.200.0.2"), ip("1.1.1.1"), Ipv4Packet.PROTOCOL_TCP, 16, 8, false));
        assertThat(packet.wrap(overlap).validate(1500, true)).isEqualTo(DropReason.BAD_FRAGMENT);

        byte[] evil = bytes(Packets.udp("10.200.0.2", "1.1.1.1", 53));
        evil[6] |= (byte) 0x80;
        Packets.fixChecksum(evil);
        assertThat(validate(evil)).isEqualTo(DropReason.BAD_FRAGMENT);

        ByteBuffer pingOfDeath = ByteBuffer.wrap(Packets.header(ip("10.200.0.2"), ip("1.1.1.1"), Ipv4Packet.PROTOCOL_ICMP, 1000, 65528, false));
        assertThat(packet.wrap(pingOfDeath).validate(65535, true)).isEqualTo(DropReason.BAD_FRAGMENT);
    }
}
