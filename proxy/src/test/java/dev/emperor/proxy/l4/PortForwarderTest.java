package dev.emperor.proxy.l4;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.emperor.proxy.Upstream;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PortForwarderTest {

    private static EventLoopGroup group;
    private PortForwarder forwarder;

    @TempDir
    Path dir;

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
        if (forwarder != null) {
            forwarder.closeAll();
        }
    }

    private int open(Upstream upstream, ForwardOptions options) throws IOException {
        if (forwarder == null) {
            forwarder = new PortForwarder(group);
        }
        int port = Backend.freePort();
        forwarder.open("shop", "db", port, upstream, options.withBindAddress("127.0.0.1"));
        return port;
    }

    private static Socket connect(int port) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.setSoTimeout(10_000);
        return s;
    }

    private static Socket connectFrom(String source, int port) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port, InetAddress.getByName(source), 0);
        s.setSoTimeout(10_000);
        return s;
    }

    /** Sends {@code text}, ends the output, returns everything the other end sent back. */
    private static String exchange(int port, String text) throws IOException {
        try (Socket s = connect(port)) {
            s.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
            s.shutdownOutput();
            return new String(Backend.readAll(s.getInputStream()), StandardCharsets.UTF_8);
        }
    }

    @Test
    void relaysBothWaysToATcpUpstreamAndCountsBytes() throws Exception {
        try (Backend echo = Backend.tcp(Backend.ECHO)) {
            int port = open(echo.upstream(), ForwardOptions.tcp());
            assertThat(exchange(port, "hello tenant")).isEqualTo("hello tenant");
            ForwardStats stats = forwarder.stats("shop", "db").orElseThrow();
            assertThat(stats.totalConnections()).isEqualTo(1);
            assertThat(stats.bytesFromClients()).isEqualTo(12);
            assertThat(stats.bytesToClients()).isEqualTo(12);
            assertThat(stats.publicPort()).isEqualTo(port);
        }
    }

    @Test
    void relaysToAUnixSocketUpstream() throws Exception {
        try (Backend echo = Backend.unix(dir.resolve("app.sock"), Backend.ECHO)) {
            int port = open(echo.upstream(), ForwardOptions.tcp());
            assertThat(exchange(port, "over unix")).isEqualTo("over unix");
        }
    }

    @Test
    void theClientsHalfCloseReachesTheUpstreamWhichStillAnswers() throws Exception {
        try (Backend counter = Backend.unix(dir.resolve("c.sock"), Backend.countThenAnswer("app"))) {
            int port = open(counter.upstream(), ForwardOptions.tcp());
            // The backend answers only after it saw EOF: without half-close this would hang.
            assertThat(exchange(port, "x".repeat(1000))).isEqualTo("app:1000");
        }
    }

    @Test
    void theUpstreamsEndReachesTheClientAfterAllItsData() throws Exception {
        byte[] big = new byte[3 << 20];
        new Random(1).nextBytes(big);
        try (Backend talker = Backend.tcp((in, out, b) -> out.write(big))) {
            int port = open(talker.upstream(), ForwardOptions.tcp());
            try (Socket s = connect(port)) {
                assertThat(Backend.readAll(s.getInputStream())).isEqualTo(big);
            }
        }
    }

    @Test
    void manyMegabytesBothWaysArriveIntactThroughBackPressure() throws Exception {
        byte[] data = new byte[32 << 20];
        new Random(7).nextBytes(data);
        try (Backend echo = Backend.tcp(Backend.ECHO)) {
            int port = open(echo.upstream(), ForwardOptions.tcp());
            try (Socket s = connect(port)) {
                assertEchoedWhole(s, data);
            }
        }
    }

    @Test
    void anEchoThroughSmallSocketBuffersArrivesWholeAfterTheClientsHalfClose() throws Exception {
        // Small buffers on every socket: the relay waits for room on both sides again and again,
        // before and after the client's FIN.
        byte[] data = new byte[4 << 20];
        new Random(11).nextBytes(data);
        try (Backend echo = Backend.tcp(Backend.ECHO, 8192)) {
            int port = open(echo.upstream(), ForwardOptions.tcp());
            try (Socket s = new Socket()) {
                s.setReceiveBufferSize(8192);
                s.setSendBufferSize(8192);
                s.setSoTimeout(10_000);
                s.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port));
                assertEchoedWhole(s, data);
            }
        }
    }

    @Test
    void aClientThatHalfClosedReceivesALongAnswerThroughASmallWindow() throws Exception {
        // The answer starts only after the client's FIN, so the client's side of the proxy has
        // nothing queued when its input ends; then the answer fills the client's small window
        // over and over while the client is half closed.
        byte[] answer = new byte[8 << 20];
        new Random(3).nextBytes(answer);
        Backend.Behaviour answerAfterEof = (in, out, b) -> {
            in.transferTo(OutputStream.nullOutputStream());
            out.write(answer);
        };
        try (Backend backend = Backend.tcp(answerAfterEof)) {
            int port = open(backend.upstream(), ForwardOptions.tcp());
            try (Socket s = new Socket()) {
                s.setReceiveBufferSize(4096);
                s.setSoTimeout(10_000);
                s.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port));
                s.getOutputStream().write("GET everything".getBytes(StandardCharsets.UTF_8));
                s.shutdownOutput();
                byte[] got = Backend.readAll(s.getInputStream());
                assertThat(got.length).isEqualTo(answer.length);
                assertThat(Arrays.equals(got, answer)).as("the answer's bytes").isTrue();
            }
        }
    }

    /** Writes {@code data} then FIN from one thread while reading the echo on this one. */
    private static void assertEchoedWhole(Socket s, byte[] data) throws Exception {
        Thread writer = Thread.ofVirtual().start(() -> {
            try {
                s.getOutputStream().write(data);
                s.shutdownOutput();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        MessageDigest got = MessageDigest.getInstance("SHA-256");
        InputStream in = s.getInputStream();
        byte[] buf = new byte[65536];
        long total = 0;
        for (int n; (n = in.read(buf)) > 0; ) {
            got.update(buf, 0, n);
            total += n;
        }
        writer.join();
        assertThat(total).isEqualTo(data.length);
        assertThat(got.digest()).isEqualTo(MessageDigest.getInstance("SHA-256").digest(data));
    }

    @Test
    void anUnreachableUpstreamClosesTheClientAtOnce() throws Exception {
        int nobody = Backend.freePort();
        int port = open(new Upstream.Tcp("127.0.0.1", nobody), ForwardOptions.tcp());
        try (Socket s = connect(port)) {
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
        assertThat(forwarder.stats("shop", "db").orElseThrow().refusedConnections()).isEqualTo(1);
    }

    @Test
    void aMissingUnixSocketClosesTheClientAtOnce() throws Exception {
        int port = open(new Upstream.UnixSocket(dir.resolve("absent.sock")), ForwardOptions.tcp());
        try (Socket s = connect(port)) {
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
    }

    @Test
    void connectionsBeyondTheLimitAreClosedOnAccept() throws Exception {
        try (Backend echo = Backend.tcp(Backend.ECHO)) {
            int port = open(echo.upstream(), ForwardOptions.tcp().withMaxConnections(2));
            // From three addresses: one address alone gets half a port's connections at most.
            try (Socket a = connect(port); Socket b = connectFrom("127.0.0.2", port)) {
                roundTrip(a, "a");
                roundTrip(b, "b");
                try (Socket c = connectFrom("127.0.0.3", port)) {
                    assertThat(c.getInputStream().read()).isEqualTo(-1);
                }
                assertThat(forwarder.stats("shop", "db").orElseThrow().openConnections()).isEqualTo(2);
            }
            // slots free up when clients leave
            waitUntil(() -> forwarder.stats("shop", "db").orElseThrow().openConnections() == 0);
            assertThat(exchange(port, "again")).isEqualTo("again");
        }
    }

    @Test
    void rePointingKeepsOpenConnectionsOnTheOldUpstream() throws Exception {
        try (Backend old = Backend.tcp(Backend.countThenAnswer("old"));
                Backend fresh = Backend.unix(dir.resolve("new.sock"), Backend.countThenAnswer("new"))) {
            int port = open(old.upstream(), ForwardOptions.tcp());
            try (Socket before = connect(port)) {
                before.getOutputStream().write("abc".getBytes());
                waitUntil(() -> forwarder.stats("shop", "db").orElseThrow().bytesFromClients() == 3);
                forwarder.open("shop", "db", port, fresh.upstream(), ForwardOptions.tcp().withBindAddress("127.0.0.1"));
                assertThat(exchange(port, "xy")).isEqualTo("new:2");
                before.shutdownOutput();
                assertThat(new String(Backend.readAll(before.getInputStream()))).isEqualTo("old:3");
            }
            assertThat(forwarder.stats("shop", "db").orElseThrow().upstream()).isEqualTo(fresh.upstream());
        }
    }

    @Test
    void closingAForwardStopsListeningAndEndsItsConnections() throws Exception {
        try (Backend echo = Backend.tcp(Backend.ECHO)) {
            int port = open(echo.upstream(), ForwardOptions.tcp());
            try (Socket s = connect(port)) {
                roundTrip(s, "x");
                assertThat(forwarder.close("shop", "db")).isTrue();
                assertThat(s.getInputStream().read()).isEqualTo(-1);
            }
            assertThatThrownBy(() -> connect(port)).isInstanceOf(IOException.class);
            assertThat(forwarder.stats("shop", "db")).isEmpty();
            assertThat(forwarder.close("shop", "db")).isFalse();
        }
    }

    @Test
    void aPortThatIsTakenIsAnErrorNamingIt() throws Exception {
        forwarder = new PortForwarder(group);
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> forwarder.open("shop", "db", port, new Upstream.Tcp("127.0.0.1", 1),
                    ForwardOptions.tcp().withBindAddress("127.0.0.1")))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining(String.valueOf(port))
                    .hasMessageContaining("shop/db");
        }
        assertThat(forwarder.stats()).isEmpty();
    }

    @Test
    void closeTenantClosesOnlyThatTenantsForwards() throws Exception {
        forwarder = new PortForwarder(group);
        Upstream up = new Upstream.Tcp("127.0.0.1", 1);
        ForwardOptions local = ForwardOptions.tcp().withBindAddress("127.0.0.1");
        forwarder.open("shop", "a", Backend.freePort(), up, local);
        forwarder.open("shop", "b", Backend.freePort(), up, local);
        forwarder.open("blog", "a", Backend.freePort(), up, local);
        forwarder.closeTenant("shop");
        assertThat(forwarder.stats()).extracting(ForwardStats::tenant).containsExactly("blog");
    }

    // ---- TLS passthrough -------------------------------------------------------------------

    private static ForwardOptions tls(String... domains) {
        return ForwardOptions.tls(List.of(domains));
    }

    @Test
    void aClientHelloForTheTenantsDomainIsRelayedUnchanged() throws Exception {
        byte[] hello = ClientHellos.fromJdk("shop.example.com");
        try (Backend backend = Backend.tcp(Backend.countThenAnswer("tls"))) {
            int port = open(backend.upstream(), tls("shop.example.com"));
            try (Socket s = connect(port)) {
                s.getOutputStream().write(hello);
                s.getOutputStream().write("after".getBytes());
                s.shutdownOutput();
                assertThat(new String(Backend.readAll(s.getInputStream()))).isEqualTo("tls:" + (hello.length + 5));
            }
            byte[] got = backend.received.poll(5, TimeUnit.SECONDS);
            byte[] expected = new byte[hello.length + 5];
            System.arraycopy(hello, 0, expected, 0, hello.length);
            System.arraycopy("after".getBytes(), 0, expected, hello.length, 5);
            assertThat(got).isEqualTo(expected);
        }
    }

    @Test
    void aWildcardDomainAdmitsNamesBelowIt() throws Exception {
        try (Backend backend = Backend.tcp(Backend.countThenAnswer("tls"))) {
            int port = open(backend.upstream(), tls("*.example.com"));
            assertThat(sendHello(port, ClientHellos.fromJdk("a.b.example.com"))).startsWith("tls:");
            assertThat(sendHello(port, ClientHellos.fromJdk("example.com"))).isEmpty();
        }
    }

    @Test
    void aClientHelloArrivingInPiecesIsStillRecognised() throws Exception {
        byte[] hello = ClientHellos.recut(ClientHellos.fromJdk("shop.example.com"), 40);
        try (Backend backend = Backend.tcp(Backend.countThenAnswer("tls"))) {
            int port = open(backend.upstream(), tls("shop.example.com"));
            try (Socket s = connect(port)) {
                s.setTcpNoDelay(true);
                OutputStream out = s.getOutputStream();
                for (int i = 0; i < hello.length; i += 100) {
                    out.write(hello, i, Math.min(100, hello.length - i));
                    out.flush();
                    Thread.sleep(2);
                }
                s.shutdownOutput();
                assertThat(new String(Backend.readAll(s.getInputStream()))).isEqualTo("tls:" + hello.length);
            }
        }
    }

    @Test
    void foreignNamesMissingNamesAndNonTlsAreRefusedWithoutReachingTheTenant() throws Exception {
        try (Backend backend = Backend.tcp(Backend.countThenAnswer("tls"))) {
            int port = open(backend.upstream(), tls("shop.example.com"));
            assertThat(sendHello(port, ClientHellos.fromJdk("bank.example.org"))).isEmpty();
            assertThat(sendHello(port, ClientHellos.fromJdk(null))).isEmpty();
            assertThat(sendHello(port, "GET / HTTP/1.1\r\n\r\n".getBytes())).isEmpty();
            assertThat(backend.received).isEmpty();
            assertThat(forwarder.stats("shop", "db").orElseThrow().refusedConnections()).isEqualTo(3);
        }
    }

    @Test
    void aClientThatSendsNoHelloIsClosedAfterTheHelloTimeout() throws Exception {
        try (Backend backend = Backend.tcp(Backend.ECHO)) {
            int port = open(backend.upstream(), tls("shop.example.com").withHelloLimits(Duration.ofMillis(200), 4096));
            try (Socket s = connect(port)) {
                s.getOutputStream().write(new byte[] {22, 3, 1});
                assertThat(s.getInputStream().read()).isEqualTo(-1);
            }
        }
    }

    @Test
    void aHelloBeyondTheSizeLimitIsRefused() throws Exception {
        try (Backend backend = Backend.tcp(Backend.ECHO)) {
            int port = open(backend.upstream(), tls("shop.example.com").withHelloLimits(Duration.ofSeconds(5), 100));
            assertThat(sendHello(port, ClientHellos.fromJdk("shop.example.com"))).isEmpty();
        }
    }

    /** Sends the bytes, ends output, returns the answer ("" when the proxy closed on us). */
    private static String sendHello(int port, byte[] hello) throws IOException {
        try (Socket s = connect(port)) {
            try {
                s.getOutputStream().write(hello);
                s.shutdownOutput();
                return new String(Backend.readAll(s.getInputStream()));
            } catch (java.net.SocketException reset) {
                return "";
            }
        }
    }

    private static void roundTrip(Socket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes());
        byte[] back = s.getInputStream().readNBytes(text.length());
        assertThat(new String(back)).isEqualTo(text);
    }

    private static void waitUntil(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within 10 s");
            }
            Thread.sleep(5);
        }
    }
}
