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
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Responses as apps really write them, byte for byte (a scripted upstream answers each path
 * with fixed bytes), through the proxy to raw clients: how each body framing reaches HTTP/1.1
 * and HTTP/1.0 clients, and what a broken response does.
 */
class RelayedResponsesTest {

    /** Path → the bytes the app answers with; "close" paths close the connection after them. */
    static final Map<String, String> SCRIPT = Map.of(
            "/length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-App: yes\r\n\r\nhello",
            "/chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
            "/close", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the close",
            "/both", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            "/badchunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n",
            "/upgrade", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nfirst",
            "/bare", "HTTP/1.1 200 OK\nContent-Length: 5\nX-App: yes\r\n\nhello",
            "/cgi", "HTTP/1.0 200 OK\nContent-Type: text/plain\n\nfrom a CGI script",
            "/barecr", "HTTP/1.1 200 OK\rContent-Length: 5\r\n\r\nhello");

    @TempDir
    static Path dir;
    static EventLoopGroup group;
    static ServerSocket app;
    static Thread appThread;
    static FrontProxy proxy;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        app = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        appThread = Thread.ofVirtual().start(RelayedResponsesTest::serve);
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        ProxyOptions options = ProxyOptions.defaults()
                .withHttpListen(List.of(new InetSocketAddress("127.0.0.1", 0)))
                .withTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofSeconds(2), Duration.ofSeconds(5));
        proxy = new FrontProxy(options, group, AcmeChallenges.NONE, dir.resolve("logs"));
        proxy.start();
        port = proxy.httpAddresses().get(0).getPort();
        proxy.setSites(List.of(new TenantSite("app", List.of("app.test"),
                new Upstream.Tcp("127.0.0.1", app.getLocalPort()), null, false, false, 1 << 20, 1000)));
    }

    @AfterAll
    static void stop() throws IOException {
        proxy.close();
        app.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static void serve() {
        while (!app.isClosed()) {
            try {
                Socket connection = app.accept();
                Thread.ofVirtual().start(() -> answer(connection));
            } catch (IOException e) {
                return;
            }
        }
    }

    /** Answers each request on the connection from the script, in one write each. */
    private static void answer(Socket connection) {
        try (connection) {
            InputStream in = connection.getInputStream();
            OutputStream out = connection.getOutputStream();
            while (true) {
                String head = readHead(in);
                if (head == null) {
                    return;
                }
                String path = head.split(" ")[1];
                String response = SCRIPT.getOrDefault(path, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                out.write(response.getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                if (path.equals("/close") || path.equals("/cgi") || path.equals("/badchunk") || path.equals("/upgrade")) {
                    return;
                }
            }
        } catch (IOException e) {
            // the proxy hung up
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1) {
            head.write(c);
            String text = head.toString(StandardCharsets.ISO_8859_1);
            if (text.endsWith("\r\n\r\n")) {
                return text;
            }
        }
        return null;
    }

    private static String get(String path, String version) {
        return "GET " + path + " " + version + "\r\nHost: app.test\r\n\r\n";
    }

    @Test
    void lengthAndChunkedBodiesReachAnHttp11ClientOnOneConnection() throws Exception {
        try (RawHttp http = new RawHttp(port)) {
            RawHttp.Response length = http.send(get("/length", "HTTP/1.1"));
            assertThat(length.status()).isEqualTo(200);
            assertThat(length.body()).isEqualTo("hello");
            assertThat(length.header("x-app")).isEqualTo("yes");
            RawHttp.Response chunked = http.send(get("/chunked", "HTTP/1.1"));
            assertThat(chunked.header("transfer-encoding")).isEqualTo("chunked");
            assertThat(chunked.body()).isEqualTo("hello world");
            http.write("HEAD /length HTTP/1.1\r\nHost: app.test\r\n\r\n");
            assertThat(readHead(http.in)).contains("\r\nContent-Length: 5\r\n"); // and no body follows:
            assertThat(http.send(get("/length", "HTTP/1.1")).body()).isEqualTo("hello");
        }
    }

    @Test
    void aBodyEndedByTheAppsCloseGoesToAnHttp11ClientChunkedAndTheClientStays() throws Exception {
        try (RawHttp http = new RawHttp(port)) {
            RawHttp.Response closed = http.send(get("/close", "HTTP/1.1"));
            assertThat(closed.header("transfer-encoding")).isEqualTo("chunked");
            assertThat(closed.header("connection")).isNull();
            assertThat(closed.body()).isEqualTo("until the close");
            assertThat(http.send(get("/length", "HTTP/1.1")).body()).isEqualTo("hello");
        }
    }

    @Test
    void anHttp10ClientGetsTheChunkedBodyUnframedAndEndedByTheClose() throws Exception {
        try (RawHttp http = new RawHttp(port)) {
            RawHttp.Response response = http.send(get("/chunked", "HTTP/1.0"));
            assertThat(response.header("transfer-encoding")).isNull();
            assertThat(response.header("connection")).isEqualTo("close");
            assertThat(response.body()).isEqualTo("hello world");
        }
    }

    @Test
    void aClientAskingToCloseIsClosedAfterItsResponse() throws Exception {
        try (RawHttp http = new RawHttp(port)) {
            RawHttp.Response response = http.send(
                    "GET /length HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n");
            assertThat(response.body()).isEqualTo("hello");
            assertThat(response.header("connection")).isEqualTo("close");
            assertThat(http.closedByPeer()).isTrue();
        }
    }

    @Test
    void aHeadWithBareLineFeedsIsRelayedWithCrlfs() throws Exception {
        try (RawHttp http = new RawHttp(port)) {
            RawHttp.Response response = http.send(get("/bare", "HTTP/1.1"));
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.header("x-app")).isEqualTo("yes");
            assertThat(response.body()).isEqualTo("hello");
            // the connection stays usable: the next response on it is whole
            assertThat(http.send(get("/length", "HTTP/1.1")).body()).isEqualTo("hello");
        }
        for (String path : List.of("/bare", "/cgi")) {
            try (RawHttp http = new RawHttp(port)) {
                http.write("GET " + path + " HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n");
                String received = new String(http.in.readAllBytes(), StandardCharsets.ISO_8859_1);
                assertThat(received).as(path).startsWith("HTTP/1.1 200 OK\r\n").contains("\r\n\r\n");
                String head = received.substring(0, received.indexOf("\r\n\r\n"));
                assertThat(head.replace("\r\n", "")).as(path).doesNotContain("\n"); // CRLF only towards the client
            }
        }
        try (RawHttp http = new RawHttp(port)) {
            assertThat(http.send(get("/cgi", "HTTP/1.1")).body()).isEqualTo("from a CGI script");
        }
    }

    @Test
    void anAmbiguousOrBrokenHeadGives502() throws Exception {
        for (String path : List.of("/both", "/barecr")) {
            try (RawHttp http = new RawHttp(port)) {
                RawHttp.Response response = http.send(get(path, "HTTP/1.1"));
                assertThat(response.status()).as(path).isEqualTo(502);
                assertThat(response.body()).doesNotContain("hello");
            }
        }
    }

    @Test
    void aBodyBrokenAfterTheHeadClosesTheClient() throws Exception {
        try (RawHttp http = new RawHttp(port)) {
            http.write(get("/badchunk", "HTTP/1.1"));
            String received = new String(http.in.readAllBytes(), StandardCharsets.ISO_8859_1);
            assertThat(received).startsWith("HTTP/1.1 200 OK\r\n");
            assertThat(received).doesNotEndWith("0\r\n\r\n"); // never a clean end: the client sees the break
        }
    }

    @Test
    void bytesTheAppSendsRightAfterIts101AreRelayed() throws Exception {
        try (RawHttp http = new RawHttp(port)) {
            http.write("GET /upgrade HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
            String received = new String(http.in.readAllBytes(), StandardCharsets.ISO_8859_1);
            assertThat(received).startsWith("HTTP/1.1 101 Switching Protocols\r\n");
            assertThat(received).contains("Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
            assertThat(received).endsWith("\r\n\r\nfirst");
        }
    }

    @Test
    void anAnswerBeforeTheBodyEndsIsRelayedAndThenTheClientIsClosed() throws Exception {
        try (RawHttp http = new RawHttp(port)) {
            // The app answers after the head; the client never sends the other 7 bytes.
            RawHttp.Response response = http.send(
                    "POST /length HTTP/1.1\r\nHost: app.test\r\nContent-Length: 10\r\n\r\nabc");
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.body()).isEqualTo("hello");
            assertThat(http.closedByPeer()).isTrue(); // nobody would read the rest of its body
        }
        try (RawHttp http = new RawHttp(port)) {
            assertThat(http.send(get("/length", "HTTP/1.1")).body()).isEqualTo("hello");
        }
    }

    @Test
    void a101ToARequestThatAskedForNoUpgradeGives502() throws Exception {
        try (RawHttp http = new RawHttp(port)) {
            RawHttp.Response response = http.send(get("/upgrade", "HTTP/1.1"));
            assertThat(response.status()).isEqualTo(502);
            assertThat(response.body()).doesNotContain("first");
        }
    }
}
