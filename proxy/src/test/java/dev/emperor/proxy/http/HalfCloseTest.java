package dev.emperor.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.proxy.AcmeChallenges;
import dev.emperor.proxy.FrontProxy;
import dev.emperor.proxy.ProxyOptions;
import dev.emperor.proxy.TenantSite;
import dev.emperor.proxy.Upstream;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients that half-close (send FIN) right after their request, as busybox nc, {@code nc -N},
 * HTTP/1.0 scripts and some probes do: they get the answer, then the close. The timeouts here
 * are long (30 s) and the client's read timeout short (5 s), so a connection the proxy leaves
 * open instead of closing shows as a failure, not as a close by some timer.
 */
class HalfCloseTest {

    @TempDir
    static Path dir;
    static EventLoopGroup group;
    static Backends.Tcp shop;
    static Backends.Unix chat;
    static FrontProxy proxy;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        group = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
        shop = new Backends.Tcp("shop");
        chat = new Backends.Unix(group, dir.resolve("chat.sock"), "chat");
        proxy = new FrontProxy(options(), group, AcmeChallenges.NONE, dir.resolve("logs"));
        proxy.start();
        port = proxy.httpAddresses().get(0).getPort();
        proxy.setSites(sites());
    }

    static List<TenantSite> sites() {
        return List.of(
                FrontProxyTest.site("shop", List.of("shop.test"), new Upstream.Tcp("127.0.0.1", shop.port())),
                FrontProxyTest.site("chat", List.of("chat.test"), new Upstream.UnixSocket(chat.path)));
    }

    static ProxyOptions options() {
        return ProxyOptions.defaults()
                .withHttpListen(List.of(new InetSocketAddress("127.0.0.1", 0)))
                .withTimeouts(Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(2), Duration.ofSeconds(30));
    }

    @AfterAll
    static void stop() {
        proxy.close();
        shop.close();
        chat.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    static RawHttp client() throws IOException {
        RawHttp http = new RawHttp(port);
        http.socket.setSoTimeout(5_000);
        return http;
    }

    @Test
    void anHttp11RequestFollowedByFinIsAnsweredThenClosed() throws Exception {
        try (RawHttp http = client()) {
            // /slow: the answer comes well after the FIN has reached the proxy.
            http.write("GET /slow/300?h11 HTTP/1.1\r\nHost: shop.test\r\n\r\n");
            http.socket.shutdownOutput();
            RawHttp.Response response = http.read();
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.body()).startsWith("backend=shop");
            assertThat(http.closedByPeer()).as("closed after the answer").isTrue();
        }
        assertThat(logLines("shop", "/slow/300?h11")).as("one access log line").isEqualTo(1);
    }

    @Test
    void anHttp10RequestFollowedByFinIsAnsweredThenClosed() throws Exception {
        try (RawHttp http = client()) {
            http.write("GET /slow/300?h10 HTTP/1.0\r\nHost: shop.test\r\n\r\n");
            http.socket.shutdownOutput();
            RawHttp.Response response = http.read(); // no length known: read to the close
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.body()).startsWith("backend=shop");
            assertThat(http.closedByPeer()).isTrue();
        }
    }

    @Test
    void pipelinedRequestsFollowedByFinAreAllAnsweredInOrderThenClosed() throws Exception {
        try (RawHttp http = client()) {
            http.write("GET /slow/300?first HTTP/1.1\r\nHost: shop.test\r\n\r\n"
                    + "GET /second HTTP/1.1\r\nHost: shop.test\r\n\r\n");
            http.socket.shutdownOutput();
            RawHttp.Response first = http.read();
            RawHttp.Response second = http.read();
            assertThat(first.status()).isEqualTo(200);
            assertThat(second.status()).isEqualTo(200);
            assertThat(http.closedByPeer()).isTrue();
        }
        assertThat(shop.requests).containsSubsequence("GET /slow/300?first", "GET /second");
    }

    @Test
    void aProxyAnswerToARequestFollowedByFinIsWrittenThenClosed() throws Exception {
        try (RawHttp http = client()) {
            http.write("GET / HTTP/1.1\r\nHost: nobody.test\r\n\r\n"); // 404 from the proxy itself
            http.socket.shutdownOutput();
            assertThat(http.read().status()).isEqualTo(404);
            assertThat(http.closedByPeer()).isTrue();
        }
    }

    @Test
    void aPipelinedRequestCutShortByFinNeverReachesTheAppButTheOneBeforeIsAnswered() throws Exception {
        try (RawHttp http = client()) {
            http.write("GET /slow/300?before-cut HTTP/1.1\r\nHost: shop.test\r\n\r\n"
                    + "POST /cut-pipelined HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 100\r\n\r\nonly this");
            http.socket.shutdownOutput();
            assertThat(http.read().body()).startsWith("backend=shop");
            assertThat(http.closedByPeer()).isTrue();
        }
        assertThat(shop.requests).contains("GET /slow/300?before-cut").doesNotContain("POST /cut-pipelined");
    }

    @Test
    void aFinBetweenRequestsClosesAtOnce() throws Exception {
        // Passes on the code before half-closure too: it guards that an idle half-closed
        // connection is not kept open now.
        try (RawHttp http = client()) {
            assertThat(http.send("GET /idle-then-fin HTTP/1.1\r\nHost: shop.test\r\n\r\n").status()).isEqualTo(200);
            http.socket.shutdownOutput();
            assertThat(http.closedByPeer()).isTrue();
        }
    }

    @Test
    void aFinInsideARequestHeadClosesWithoutAnUpstreamRequest() throws Exception {
        try (RawHttp http = client()) {
            http.write("GET /cut-head HTTP/1.1\r\nHost: shop.te");
            http.socket.shutdownOutput();
            assertThat(http.closedByPeer()).isTrue();
        }
        // A request after it on a fresh connection has reached the app: the cut one would have by then.
        try (RawHttp http = client()) {
            assertThat(http.send("GET /after-cut-head HTTP/1.1\r\nHost: shop.test\r\n\r\n").status()).isEqualTo(200);
        }
        assertThat(shop.requests).noneMatch(request -> request.contains("/cut-head"));
    }

    @Test
    void aFinInsideARequestBodyAbortsItsUpstreamRequestAndCloses() throws Exception {
        // Passes on the code before half-closure too: it guards that the app is never left
        // waiting for the rest of a body that cannot come.
        try (RawHttp http = client()) {
            http.write("POST /cut-body HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 100\r\n\r\nonly this");
            for (int i = 0; i < 100 && !shop.requests.contains("POST /cut-body"); i++) {
                Thread.sleep(50); // until the app reads the body
            }
            assertThat(shop.requests).contains("POST /cut-body");
            http.socket.shutdownOutput();
            assertThat(http.closedByPeer()).isTrue();
        }
        // The app saw the body end early (its connection closed), not left waiting for the rest.
        for (int i = 0; i < 100 && !shop.brokenRequests.contains("/cut-body"); i++) {
            Thread.sleep(50);
        }
        assertThat(shop.brokenRequests).contains("/cut-body");
    }

    @Test
    void aHalfClosedClientThatNeverReadsItsAnswerIsStillCutOff() throws Exception {
        // Passes on the code before half-closure too (it closed at once): it guards that a
        // half-closed connection waiting on an answer nobody reads does not live for ever.
        try (FrontProxy timed = new FrontProxy(options().withTimeouts(Duration.ofSeconds(30), Duration.ofSeconds(1),
                Duration.ofSeconds(2), Duration.ofSeconds(30)), group, AcmeChallenges.NONE, dir.resolve("timed-logs"))) {
            timed.start();
            timed.setSites(sites());
            try (RawHttp http = new RawHttp(timed.httpAddresses().get(0).getPort())) {
                http.write("GET /big/1000000000 HTTP/1.1\r\nHost: shop.test\r\n\r\n");
                http.socket.shutdownOutput();
                // Not a byte read: the proxy's writes stop once the socket buffers are full.
                for (int i = 0; i < 300 && !shop.brokenResponses.contains("/big/1000000000"); i++) {
                    Thread.sleep(100);
                }
                assertThat(shop.brokenResponses).as("the proxy gave up the answer and its upstream")
                        .contains("/big/1000000000");
            }
        }
    }

    @Test
    void aWebSocketClientsFinIsPassedToTheAppWhoseLastWordsStillArrive() throws Exception {
        try (RawHttp http = client()) {
            http.write("GET /ws HTTP/1.1\r\nHost: chat.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
            assertThat(http.read().status()).isEqualTo(101);
            byte[] text = "hi".getBytes(StandardCharsets.US_ASCII);
            byte[] mask = {1, 2, 3, 4};
            byte[] frame = {(byte) 0x81, (byte) (0x80 | text.length), mask[0], mask[1], mask[2], mask[3],
                    (byte) (text[0] ^ mask[0]), (byte) (text[1] ^ mask[1])};
            http.out.write(frame);
            http.out.flush();
            http.socket.shutdownOutput();
            // The echo comes back after the FIN went up: the app answers, then closes its side.
            byte[] echo = http.in.readNBytes(2 + "chat:hi".length());
            assertThat(echo).as("the app's echo").hasSize(2 + "chat:hi".length());
            assertThat(new String(echo, 2, echo.length - 2, StandardCharsets.US_ASCII)).isEqualTo("chat:hi");
            assertThat(http.closedByPeer()).isTrue();
        }
    }

    @Test
    void anHttp11RequestOverTlsFollowedByFinIsAnsweredThenClosed() throws Exception {
        try (Backends.Tcp backend = new Backends.Tcp("tlsapp");
             TlsProxy tls = new TlsProxy(Files.createDirectories(dir.resolve("tls-h1")), options())) {
            tls.proxy.setSites(List.of(FrontProxyTest.site("tlsapp", List.of("h2.test"),
                    new Upstream.Tcp("127.0.0.1", backend.port()))));
            try (Socket raw = new Socket("127.0.0.1", tls.port);
                 RawHttp http = new RawHttp(tlsOver(raw, tls.port, "http/1.1"))) {
                http.socket.setSoTimeout(5_000);
                http.write("GET /slow/300 HTTP/1.1\r\nHost: h2.test\r\n\r\n");
                raw.shutdownOutput(); // a TCP FIN (no close_notify), as a client killed after writing
                RawHttp.Response response = http.read();
                assertThat(response.status()).isEqualTo(200);
                assertThat(response.body()).startsWith("backend=tlsapp");
                assertThat(http.closedByPeer()).isTrue();
            }
        }
    }

    @Test
    void anHttp2ClientsFinClosesAtOnce() throws Exception {
        // Unchanged behaviour (passes before half-closure too): HTTP/2 has its own end of stream.
        try (TlsProxy tls = new TlsProxy(Files.createDirectories(dir.resolve("tls-h2")), options());
             Socket raw = new Socket("127.0.0.1", tls.port)) {
            SSLSocket socket = tlsOver(raw, tls.port, "h2");
            socket.setSoTimeout(5_000);
            assertThat(socket.getApplicationProtocol()).isEqualTo("h2");
            Http2Sockets.prefaceAndSettings(socket);
            raw.shutdownOutput();
            assertThat(Http2Sockets.closedByPeer(socket)).isTrue();
        }
    }

    /** TLS on top of {@code raw}, so the test can half-close the TCP connection under it. */
    static SSLSocket tlsOver(Socket raw, int port, String protocol) throws Exception {
        SSLContext trustAll = SSLContext.getInstance("TLS");
        trustAll.init(null, InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
        SSLSocket socket = (SSLSocket) trustAll.getSocketFactory().createSocket(raw, "h2.test", port, true);
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setApplicationProtocols(new String[] {protocol});
        socket.setSSLParameters(parameters);
        socket.setSoTimeout(10_000);
        socket.startHandshake();
        return socket;
    }

    /** Lines of {@code tenant}'s access log naming {@code path}, once the line for it is there. */
    static long logLines(String tenant, String path) throws Exception {
        Path log = dir.resolve("logs/" + tenant + ".access.log");
        for (int i = 0; i < 100 && !(Files.exists(log) && Files.readString(log).contains(path)); i++) {
            Thread.sleep(50);
        }
        return Files.readAllLines(log).stream().filter(line -> line.contains(" " + path + " ")).count();
    }
}
