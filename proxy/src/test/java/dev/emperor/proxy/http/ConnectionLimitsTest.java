package dev.emperor.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.emperor.proxy.AcmeChallenges;
import dev.emperor.proxy.ClientConnections;
import dev.emperor.proxy.ConnectionLimits;
import dev.emperor.proxy.FrontProxy;
import dev.emperor.proxy.ProxyOptions;
import dev.emperor.proxy.TenantSite;
import dev.emperor.proxy.Upstream;
import dev.emperor.proxy.l4.ForwardOptions;
import dev.emperor.proxy.l4.PortForwarder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client connection limits with real sockets: per client and site, per client (web and
 * public ports together), in all, and idle keep-alive connections closed, oldest first, before
 * a new connection is refused. Other client addresses are other 127.0.0.x sources.
 */
class ConnectionLimitsTest {

    @TempDir
    Path dir;
    static EventLoopGroup group;
    static Holding app;
    FrontProxy proxy;
    int port;
    final List<AutoCloseable> open = new ArrayList<>();

    @BeforeAll
    static void start() throws IOException {
        group = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
        app = new Holding();
    }

    @AfterAll
    static void stop() {
        app.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @AfterEach
    void closeAll() throws Exception {
        app.release();
        for (AutoCloseable c : open) {
            c.close();
        }
        if (proxy != null) {
            proxy.close();
        }
    }

    private void startProxy(ConnectionLimits limits, int siteMaxConnections) throws IOException {
        ProxyOptions options = ProxyOptions.defaults()
                .withHttpListen(List.of(new InetSocketAddress("127.0.0.1", 0)))
                .withConnectionLimits(limits);
        proxy = new FrontProxy(options, group, AcmeChallenges.NONE, dir.resolve("logs"));
        proxy.start();
        port = proxy.httpAddresses().get(0).getPort();
        Upstream upstream = new Upstream.Tcp("127.0.0.1", app.port());
        proxy.setSites(List.of(
                new TenantSite("a", List.of("a.test"), upstream, null, false, false, 1 << 20, siteMaxConnections),
                new TenantSite("b", List.of("b.test"), upstream, null, false, false, 1 << 20, siteMaxConnections)));
    }

    private RawHttp connect(String from) throws IOException {
        RawHttp http = new RawHttp(from, port);
        open.add(http);
        return http;
    }

    private static String get(String host, String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
    }

    @Test
    void oneClientCannotFillASiteWithIdleKeepAliveConnections() throws Exception {
        startProxy(ConnectionLimits.defaults(), 8); // one client gets half: 4
        List<Integer> statuses = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            RawHttp attacker = connect("127.0.0.1");
            RawHttp.Response response = attacker.send(get("a.test", "/"));
            statuses.add(response.status());
            if (response.status() == 429) {
                assertThat(response.header("Connection")).isEqualToIgnoringCase("close");
                assertThat(attacker.closedByPeer()).isTrue();
            }
        }
        assertThat(statuses).containsExactly(200, 200, 200, 200, 429, 429, 429, 429);
        // The attacker's four keep-alive connections stay open; everyone else still gets in.
        assertThat(connect("127.0.0.2").send(get("a.test", "/")).status()).isEqualTo(200);
        assertThat(connect("127.0.0.1").send(get("b.test", "/")).status()).isEqualTo(200);
        assertThat(proxy.clientConnections().counts().refusedPerSite()).isEqualTo(4);
    }

    @Test
    void aClientOverItsOwnLimitIsClosedAtAcceptOnWebAndPublicPortsAlike() throws Exception {
        startProxy(new ConnectionLimits(3, 64, 1000), 100);
        PortForwarder forwarder = new PortForwarder(group, proxy.clientConnections());
        open.add(forwarder);
        int publicPort = freePort();
        forwarder.open("b", "web", publicPort, new Upstream.Tcp("127.0.0.1", app.port()),
                ForwardOptions.tcp().withBindAddress("127.0.0.1"));

        for (int i = 0; i < 2; i++) {
            assertThat(connect("127.0.0.3").send(get("a.test", "/")).status()).isEqualTo(200);
        }
        RawHttp third = new RawHttp("127.0.0.3", publicPort);
        open.add(third);
        assertThat(third.send(get("b.test", "/")).status()).as("through the public port").isEqualTo(200);

        assertThat(connect("127.0.0.3").closedByPeer()).as("a fourth web connection").isTrue();
        RawHttp fourthPublic = new RawHttp("127.0.0.3", publicPort);
        open.add(fourthPublic);
        assertThat(fourthPublic.closedByPeer()).as("a fourth connection, to the public port").isTrue();
        assertThat(proxy.clientConnections().counts().refusedPerClient()).isEqualTo(2);
        assertThat(forwarder.stats("b", "web").orElseThrow().refusedConnections()).isEqualTo(1);

        assertThat(connect("127.0.0.4").send(get("a.test", "/")).status()).isEqualTo(200);
        RawHttp other = new RawHttp("127.0.0.4", publicPort);
        open.add(other);
        assertThat(other.send(get("b.test", "/")).status()).isEqualTo(200);
    }

    @Test
    void newLimitsApplyToConnectionsAcceptedFromThenOnAndLeaveOpenOnesAlone() throws Exception {
        startProxy(ConnectionLimits.defaults(), 100);
        RawHttp first = connect("127.0.0.7");
        RawHttp second = connect("127.0.0.7");
        assertThat(first.send(get("a.test", "/")).status()).isEqualTo(200);
        assertThat(second.send(get("a.test", "/")).status()).isEqualTo(200);
        proxy.useLimits(ProxyOptions.defaults().withConnectionLimits(new ConnectionLimits(1, 64, 1000))); // SIGHUP
        assertThat(connect("127.0.0.7").closedByPeer()).as("a third connection under the new limit").isTrue();
        assertThat(second.send(get("a.test", "/")).status()).as("an open connection").isEqualTo(200);
        assertThat(connect("127.0.0.8").send(get("a.test", "/")).status()).isEqualTo(200);
    }

    @Test
    void oneClientGetsHalfAPublicPortsConnectionsAtMost() throws Exception {
        startProxy(ConnectionLimits.defaults(), 100);
        PortForwarder forwarder = new PortForwarder(group, proxy.clientConnections());
        open.add(forwarder);
        int publicPort = freePort();
        forwarder.open("b", "web", publicPort, new Upstream.Tcp("127.0.0.1", app.port()),
                ForwardOptions.tcp().withBindAddress("127.0.0.1").withMaxConnections(4));
        for (int i = 0; i < 2; i++) {
            RawHttp held = new RawHttp("127.0.0.5", publicPort);
            open.add(held);
            assertThat(held.send(get("b.test", "/")).status()).isEqualTo(200);
        }
        RawHttp third = new RawHttp("127.0.0.5", publicPort);
        open.add(third);
        assertThat(third.closedByPeer()).isTrue();
        RawHttp other = new RawHttp("127.0.0.6", publicPort);
        open.add(other);
        assertThat(other.send(get("b.test", "/")).status()).isEqualTo(200);
        assertThat(proxy.clientConnections().counts().refusedPerSite()).isEqualTo(1);
    }

    @Test
    void nearTheTotalTheOldestIdleKeepAliveConnectionIsClosedToMakeRoom() throws Exception {
        startProxy(new ConnectionLimits(256, 64, 8), 100); // idle ones go from 7 open on, one at a time
        List<RawHttp> idle = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            RawHttp http = connect("127.0.0.1");
            assertThat(http.send(get("a.test", "/")).status()).isEqualTo(200);
            idle.add(http);
        }
        RawHttp newcomer = connect("127.0.0.2");
        assertThat(newcomer.send(get("a.test", "/")).status()).isEqualTo(200);
        assertThat(idle.get(0).closedByPeer()).as("the oldest idle connection").isTrue();
        for (RawHttp younger : idle.subList(1, idle.size())) {
            assertThat(younger.send(get("a.test", "/")).status()).isEqualTo(200);
        }
        ClientConnections.Counts counts = proxy.clientConnections().counts();
        assertThat(counts.shedIdle()).isEqualTo(1);
        assertThat(counts.refusedTotal()).isZero();
    }

    @Test
    void connectionsWithARequestInFlightAreNeverClosedAndTheTotalRefusesAtAccept() throws Exception {
        startProxy(new ConnectionLimits(256, 64, 4), 100);
        List<RawHttp> busy = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            RawHttp http = connect("127.0.0.1");
            http.write(get("a.test", "/hold"));
            app.awaitHeld(i + 1);
            busy.add(http);
        }
        assertThat(connect("127.0.0.2").closedByPeer()).as("a fifth connection").isTrue();
        assertThat(proxy.clientConnections().counts().refusedTotal()).isEqualTo(1);
        assertThat(proxy.clientConnections().counts().shedIdle()).isZero();
        app.release();
        for (RawHttp http : busy) {
            assertThat(http.read().status()).isEqualTo(200);
        }
    }

    @Test
    void anHttp2ConnectionWithAStreamOpenIsBusyAndOneWithoutIsIdle() throws Exception {
        try (TlsProxy tls = new TlsProxy(dir.resolve("tls"), ProxyOptions.defaults()
                .withConnectionLimits(new ConnectionLimits(256, 64, 3)))) { // idle ones go from 2 open on
            tls.proxy.setSites(List.of(new TenantSite("h2app", List.of("h2.test"),
                    new Upstream.Tcp("127.0.0.1", app.port()), null, false, false, 1 << 20, 100)));
            // The oldest connection: curl's, its one stream waiting for the app.
            Process curl = new ProcessBuilder("curl", "-sS", "-k", "--http2", "-o", "/dev/null", "-w", "%{http_code}",
                    "--resolve", "h2.test:" + tls.port + ":127.0.0.1", "https://h2.test:" + tls.port + "/hold")
                    .redirectErrorStream(true).start();
            app.awaitHeld(1);
            // A younger one with no stream open.
            javax.net.ssl.SSLSocket noStreams = Http2Sockets.handshake(tls.port);
            open.add(noStreams);
            Http2Sockets.prefaceAndSettings(noStreams);
            assertThat(tls.proxy.clientConnections().open()).isEqualTo(2);
            // A third arrives: the idle HTTP/2 connection goes, not the older busy one.
            javax.net.ssl.SSLSocket third = Http2Sockets.handshake(tls.port);
            open.add(third);
            assertThat(Http2Sockets.closedByPeer(noStreams)).isTrue();
            app.release();
            String output = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(curl.waitFor()).as(output).isZero();
            assertThat(output).isEqualTo("200");
            assertThat(tls.proxy.clientConnections().counts().shedIdle()).isEqualTo(1);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** An app that answers "ok", except /hold, which waits until the test lets it go. */
    static final class Holding implements AutoCloseable {
        private final HttpServer server;
        private final ExecutorService executor = Executors.newCachedThreadPool();
        private final AtomicInteger held = new AtomicInteger();
        private volatile CountDownLatch gate = new CountDownLatch(1);

        Holding() throws IOException {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 128);
            server.createContext("/", this::handle);
            server.setExecutor(executor);
            server.start();
        }

        int port() {
            return server.getAddress().getPort();
        }

        private void handle(HttpExchange exchange) throws IOException {
            if (exchange.getRequestURI().getPath().equals("/hold")) {
                CountDownLatch waitFor = gate;
                held.incrementAndGet();
                try {
                    waitFor.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            byte[] body = "ok\n".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }

        /** Waits until {@code count} requests wait at /hold in all (since the last release). */
        void awaitHeld(int count) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (held.get() < count && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(held.get()).as("requests waiting at /hold").isGreaterThanOrEqualTo(count);
        }

        /** Lets every waiting /hold request answer; later ones wait again. */
        void release() {
            CountDownLatch old = gate;
            gate = new CountDownLatch(1);
            held.set(0);
            old.countDown();
        }

        @Override
        public void close() {
            release();
            server.stop(0);
            executor.shutdownNow();
        }
    }
}
