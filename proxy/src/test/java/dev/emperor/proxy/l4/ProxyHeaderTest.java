package dev.emperor.proxy.l4;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Public ports with {@code proxy-protocol}: the tenant's server gets the PROXY v2 header, byte
 * for byte as HAProxy's spec lays it out, before the client's first byte; and public ports
 * bound to some addresses only.
 */
class ProxyHeaderTest {

    /** "\r\n\r\n\0\r\nQUIT\n": the v2 signature. */
    private static final byte[] SIGNATURE = HexFormat.of().parseHex("0d0a0d0a000d0a515549540a");
    private static EventLoopGroup group;
    private PortForwarder forwarder;

    @BeforeAll
    static void startLoops() {
        group = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
    }

    @AfterAll
    static void stopLoops() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @AfterEach
    void closeForwards() {
        if (forwarder != null) forwarder.closeAll();
    }

    /** Reads everything the backend got on one connection (until the client ends its output). */
    private static final Backend.Behaviour RECORD = (in, out, b) -> {
        b.received.add(in.readAllBytes());
        out.write('.');
    };

    @Test
    void anIpv4ClientsAddressReachesTheTenantAheadOfItsBytesAndAFakeHeaderFromTheClientComesAfter() throws Exception {
        try (Backend backend = Backend.tcp(RECORD)) {
            forwarder = new PortForwarder(group);
            int port = Backend.freePort();
            forwarder.open("shop", "db", port, backend.upstream(),
                    ForwardOptions.tcp().withBindAddress("127.0.0.1").withProxyProtocol(true));
            // the attacker's own header, claiming to be 6.6.6.6: it must arrive as plain data
            byte[] fake = concat(SIGNATURE, HexFormat.of().parseHex("2111000c060606060a0000010d050d05"), "hi".getBytes());
            int clientPort;
            try (Socket s = new Socket(InetAddress.getByName("127.0.0.1"), port, InetAddress.getByName("127.0.0.2"), 0)) {
                clientPort = s.getLocalPort();
                s.getOutputStream().write(fake);
                s.shutdownOutput();
                assertThat(s.getInputStream().read()).isEqualTo('.');
            }
            byte[] got = backend.received.poll(10, TimeUnit.SECONDS);
            assertThat(got).isNotNull();
            ByteBuffer header = ByteBuffer.allocate(28).put(SIGNATURE)
                    .put((byte) 0x21) // version 2, PROXY
                    .put((byte) 0x11) // AF_INET, STREAM
                    .putShort((short) 12)
                    .put(new byte[] {127, 0, 0, 2}).put(new byte[] {127, 0, 0, 1})
                    .putShort((short) clientPort).putShort((short) port);
            assertThat(HexFormat.of().formatHex(Arrays.copyOf(got, 28))).isEqualTo(HexFormat.of().formatHex(header.array()));
            assertThat(Arrays.copyOfRange(got, 28, got.length)).isEqualTo(fake);
        }
    }

    @Test
    void anIpv6ClientGetsAnIpv6Header() throws Exception {
        try (Backend backend = Backend.tcp(RECORD)) {
            forwarder = new PortForwarder(group);
            int port = Backend.freePort();
            forwarder.open("shop", "db", port, backend.upstream(),
                    ForwardOptions.tcp().withBindAddress("::1").withProxyProtocol(true));
            int clientPort;
            try (Socket s = new Socket(InetAddress.getByName("::1"), port)) {
                clientPort = s.getLocalPort();
                s.getOutputStream().write("x".getBytes(StandardCharsets.US_ASCII));
                s.shutdownOutput();
                assertThat(s.getInputStream().read()).isEqualTo('.');
            }
            byte[] got = backend.received.poll(10, TimeUnit.SECONDS);
            byte[] loopback = InetAddress.getByName("::1").getAddress();
            ByteBuffer header = ByteBuffer.allocate(52).put(SIGNATURE).put((byte) 0x21)
                    .put((byte) 0x21) // AF_INET6, STREAM
                    .putShort((short) 36).put(loopback).put(loopback)
                    .putShort((short) clientPort).putShort((short) port);
            assertThat(HexFormat.of().formatHex(got)).isEqualTo(HexFormat.of().formatHex(header.array()) + "78");
        }
    }

    @Test
    void anIpv4ClientOnADualStackListenerIsSentAsAnIpv4MappedAddress() {
        var header = ProxyHeader.of(new InetSocketAddress("127.0.0.2", 4000),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 5000));
        assertThat(header.proxiedProtocol().name()).isEqualTo("TCP4");
        var mixed = ProxyHeader.of(new InetSocketAddress("127.0.0.2", 4000), new InetSocketAddress("::1", 5000));
        assertThat(mixed.proxiedProtocol().name()).isEqualTo("TCP6");
        assertThat(mixed.sourceAddress()).isIn("0:0:0:0:0:ffff:7f00:2", "::ffff:127.0.0.2");
        mixed.release();
        header.release();
    }

    @Test
    void withoutTheOptionTheTenantGetsOnlyTheClientsBytes() throws Exception {
        try (Backend backend = Backend.tcp(RECORD)) {
            forwarder = new PortForwarder(group);
            int port = Backend.freePort();
            forwarder.open("shop", "db", port, backend.upstream(), ForwardOptions.tcp().withBindAddress("127.0.0.1"));
            try (Socket s = new Socket(InetAddress.getByName("127.0.0.1"), port)) {
                s.getOutputStream().write("plain".getBytes(StandardCharsets.US_ASCII));
                s.shutdownOutput();
                assertThat(s.getInputStream().read()).isEqualTo('.');
            }
            assertThat(new String(backend.received.poll(10, TimeUnit.SECONDS), StandardCharsets.US_ASCII)).isEqualTo("plain");
        }
    }

    @Test
    void aPortBoundToSomeAddressesAnswersOnThoseOnly() throws Exception {
        try (Backend backend = Backend.tcp(Backend.ECHO)) {
            forwarder = new PortForwarder(group);
            int port = Backend.freePort();
            forwarder.open("shop", "db", port, backend.upstream(), ForwardOptions.tcp().withBindAddresses(
                    List.of(InetAddress.getByName("127.0.0.2"), InetAddress.getByName("::1"))));
            assertThat(echoes("127.0.0.2", port)).isTrue();
            assertThat(echoes("::1", port)).isTrue();
            assertThat(refused("127.0.0.3", port)).isTrue();
            assertThat(refused("127.0.0.1", port)).isTrue();
        }
    }

    @Test
    void anAddressThatCannotBeBoundLeavesNoneOfTheOthersListening() throws Exception {
        try (Backend backend = Backend.tcp(Backend.ECHO);
                java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, InetAddress.getByName("127.0.0.3"))) {
            forwarder = new PortForwarder(group);
            int port = taken.getLocalPort();
            ForwardOptions options = ForwardOptions.tcp().withBindAddresses(
                    List.of(InetAddress.getByName("127.0.0.2"), InetAddress.getByName("127.0.0.3")));
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> forwarder.open("shop", "db", port, backend.upstream(), options))
                    .hasMessageContaining("127.0.0.3");
            assertThat(refused("127.0.0.2", port)).as("the address bound before the failure").isTrue();
        }
    }

    private static boolean echoes(String address, int port) throws IOException {
        try (Socket s = new Socket(address, port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).equals("ping");
        }
    }

    private static boolean refused(String address, int port) throws IOException {
        try (Socket s = new Socket(address, port)) {
            return false;
        } catch (ConnectException e) {
            return true;
        }
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) out.writeBytes(part);
        return out.toByteArray();
    }

}
