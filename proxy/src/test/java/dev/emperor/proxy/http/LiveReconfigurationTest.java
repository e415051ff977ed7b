package dev.emperor.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.emperor.proxy.FrontProxy;
import dev.emperor.proxy.ProxyOptions;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The proxy's listeners and limits change while it runs (SIGHUP); connections already accepted go on as they were. */
class LiveReconfigurationTest {

    private static final String REQUEST = "GET / HTTP/1.1\r\nHost: nobody.test\r\n\r\n";

    @TempDir
    Path dir;
    EventLoopGroup group;
    FrontProxy proxy;

    @BeforeEach
    void start() {
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    }

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static InetSocketAddress freeAddress() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return new InetSocketAddress("127.0.0.1", socket.getLocalPort());
        }
    }

    private FrontProxy proxyOn(InetSocketAddress address) throws IOException {
        ProxyOptions options = ProxyOptions.defaults().withHttpListen(List.of(address));
        FrontProxy started = new FrontProxy(options, group, (host, token) -> Optional.empty(), dir.resolve("logs"));
        started.start();
        return started;
    }

    /** The proxy answers on the port (404: no tenant has that name). */
    private static int statusOn(InetSocketAddress address) throws IOException {
        try (RawHttp http = new RawHttp(address.getPort())) {
            return http.send(REQUEST).status();
        }
    }

    @Test
    void newAddressesAreBoundAndOldOnesStopListeningWhileTheirConnectionsGoOn() throws Exception {
        InetSocketAddress first = freeAddress();
        InetSocketAddress second = freeAddress();
        proxy = proxyOn(first);
        try (RawHttp kept = new RawHttp(first.getPort())) {
            assertThat(kept.send(REQUEST).status()).isEqualTo(404);

            proxy.listenOn(List.of(second), List.of());

            assertThat(statusOn(second)).isEqualTo(404);
            assertThatThrownBy(() -> statusOn(first)).isInstanceOf(ConnectException.class);
            assertThat(proxy.httpAddresses()).containsExactly(second);
            assertThat(kept.send(REQUEST).status()).as("a keep-alive connection of the old listener").isEqualTo(404);
        }
    }

    @Test
    void anAddressThatCannotBeBoundChangesNothing() throws Exception {
        InetSocketAddress first = freeAddress();
        InetSocketAddress second = freeAddress();
        proxy = proxyOn(first);
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            InetSocketAddress busy = new InetSocketAddress("127.0.0.1", taken.getLocalPort());
            assertThatThrownBy(() -> proxy.listenOn(List.of(second, busy), List.of()))
                    .isInstanceOf(IOException.class).hasMessageContaining("127.0.0.1:" + busy.getPort());
        }
        assertThat(proxy.httpAddresses()).containsExactly(first);
        assertThat(statusOn(first)).isEqualTo(404);
        assertThatThrownBy(() -> statusOn(second)).as("bound for the change, closed again")
                .isInstanceOf(ConnectException.class);
    }

    @Test
    void httpsNeedsTheTlsSide() throws Exception {
        InetSocketAddress first = freeAddress();
        proxy = proxyOn(first);
        assertThatThrownBy(() -> proxy.listenOn(List.of(first), List.of(freeAddress())))
                .isInstanceOf(IOException.class).hasMessageContaining("TLS");
        assertThat(statusOn(first)).isEqualTo(404);
    }

    @Test
    void newLimitsApplyToConnectionsAcceptedFromThenOn() throws Exception {
        InetSocketAddress address = freeAddress();
        proxy = proxyOn(address);
        String bigHead = "GET / HTTP/1.1\r\nHost: nobody.test\r\nX-Filler: " + "f".repeat(2000) + "\r\n\r\n";
        try (RawHttp before = new RawHttp(address.getPort())) {
            assertThat(before.send(bigHead).status()).isEqualTo(404);

            proxy.useLimits(ProxyOptions.defaults().withMaxHeaderBytes(1024));

            try (RawHttp after = new RawHttp(address.getPort())) {
                assertThat(after.send(bigHead).status()).isEqualTo(431);
            }
            assertThat(before.send(bigHead).status()).as("an open connection keeps its limits").isEqualTo(404);
        }
    }
}
