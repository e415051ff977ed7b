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
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The minimum data rate, both ways: clients that trickle a body or do not read their response
 * are cut off (and their upstream with them); clients waiting for a slow app, idle keep-alive
 * connections and idle WebSockets are not. 20,000 B/s after 500 ms: far above what the slow
 * clients here manage, far below what loopback does.
 */
class TransferRateGuardTest {

    @TempDir
    static Path dir;
    static EventLoopGroup group;
    static Backends.Tcp app;
    static Backends.Unix wsApp;
    static FrontProxy proxy;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        group = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
        app = new Backends.Tcp("app");
        wsApp = new Backends.Unix(group, dir.resolve("ws.sock"), "ws");
        ProxyOptions options = ProxyOptions.defaults()
                .withHttpListen(List.of(new InetSocketAddress("127.0.0.1", 0)))
                .withTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofSeconds(2), Duration.ofSeconds(10))
                .withMinDataRate(20_000, Duration.ofMillis(500));
        proxy = new FrontProxy(options, group, AcmeChallenges.NONE, dir.resolve("logs"));
        proxy.start();
        port = proxy.httpAddresses().get(0).getPort();
        proxy.setSites(List.of(
                new TenantSite("app", List.of("app.test"), new Upstream.Tcp("127.0.0.1", app.port()),
                        null, false, false, 1L << 30, 100),
                new TenantSite("ws", List.of("127.0.0.1"), new Upstream.UnixSocket(wsApp.path),
                        null, false, false, 1L << 20, 100)));
    }

    @AfterAll
    static void stop() {
        proxy.close();
        app.close();
        wsApp.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void aTrickledBodyGets408AndItsUpstreamRequestIsAborted() throws Exception {
        try (RawHttp http = new RawHttp(port)) {
            http.write("POST /trickle HTTP/1.1\r\nHost: app.test\r\nContent-Length: 100000\r\n\r\n");
            // 10 bytes every 100 ms is 100 B/s; stop as soon as the proxy answers.
            for (int i = 0; i < 100 && http.in.available() == 0; i++) {
                try {
                    http.write("0123456789");
                } catch (IOException closed) {
                    break;
                }
                Thread.sleep(100);
            }
            RawHttp.Response response = http.read();
            assertThat(response.status()).isEqualTo(408);
            assertThat(response.header("Connection")).isEqualTo("close");
            assertThat(http.closedByPeer()).isTrue();
        }
        waitUntil("the app sees its request body cut off", () -> app.brokenRequests.contains("/trickle"));
    }

    @Test
    void aClientThatDoesNotReadItsResponseIsClosedAndSoIsItsUpstream() throws Exception {
        long size = 32L << 20; // far more than a socket's buffers
        try (Socket socket = new Socket()) {
            socket.setReceiveBufferSize(4096); // before connect: a small window
            socket.connect(new InetSocketAddress("127.0.0.1", port));
            socket.getOutputStream().write(("GET /big/" + size + " HTTP/1.1\r\nHost: app.test\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            Thread.sleep(3000); // not reading: the proxy's buffers for this client fill up and stay full
            socket.setSoTimeout(10_000);
            long read = 0;
            byte[] buffer = new byte[1 << 16];
            InputStream in = socket.getInputStream();
            try {
                for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                    read += n;
                }
            } catch (IOException reset) {
                // closed by the proxy with data unread: a reset is as good as an EOF
            }
            assertThat(read).as("bytes the client got before the proxy closed").isLessThan(size);
        }
        waitUntil("the app sees its response cut off", () -> app.brokenResponses.contains("/big/" + size));
    }

    @Test
    void waitingForASlowAppDoesNotCountAgainstTheClient() throws Exception {
        try (RawHttp http = new RawHttp(port)) {
            RawHttp.Response response = http.send("POST /slow/1500 HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello");
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.body()).contains("body=5\n");
        }
    }

    @Test
    void anIdleKeepAliveConnectionIsLeftToTheIdleTimeout() throws Exception {
        try (RawHttp http = new RawHttp(port)) {
            assertThat(http.send("GET /one HTTP/1.1\r\nHost: app.test\r\n\r\n").status()).isEqualTo(200);
            Thread.sleep(1500);
            assertThat(http.send("GET /two HTTP/1.1\r\nHost: app.test\r\n\r\n").status()).isEqualTo(200);
        }
    }

    @Test
    void anIdleWebSocketStaysOpen() throws Exception {
        LinkedBlockingQueue<String> received = new LinkedBlockingQueue<>();
        WebSocket ws = TextWebSockets.open(port, received);
        try {
            ws.sendText("first", true).get(5, TimeUnit.SECONDS);
            assertThat(received.poll(5, TimeUnit.SECONDS)).isEqualTo("ws:first");
            Thread.sleep(1500);
            ws.sendText("after a pause", true).get(5, TimeUnit.SECONDS);
            assertThat(received.poll(5, TimeUnit.SECONDS)).isEqualTo("ws:after a pause");
        } finally {
            ws.abort();
        }
    }

    private static void waitUntil(String what, BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 100 && !condition.getAsBoolean(); i++) {
            Thread.sleep(100);
        }
        assertThat(condition.getAsBoolean()).as(what).isTrue();
    }
}
