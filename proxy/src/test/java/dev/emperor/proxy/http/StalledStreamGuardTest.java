package dev.emperor.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.proxy.ProxyOptions;
import dev.emperor.proxy.TenantSite;
import dev.emperor.proxy.Upstream;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamChannelOption;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.ReferenceCountUtil;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP/2 streams whose response flow control holds back: a stream the client never opens its
 * window for is reset and its upstream closed, while the connection's other streams go on; a
 * stream the client lets through slowly but above the rate is left alone. The client is Netty's
 * HTTP/2 codec with stream windows of 8 KiB (SETTINGS_INITIAL_WINDOW_SIZE), PINGing all along
 * so the connection is never idle; 20,000 B/s after 500 ms.
 */
class StalledStreamGuardTest {

    private static final int WINDOW = 8 * 1024;

    @TempDir
    static Path dir;
    static EventLoopGroup clients;
    static Backends.Tcp app;
    static TlsProxy tls;
    static SslContext clientTls;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        clients = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        app = new Backends.Tcp("app");
        tls = new TlsProxy(dir, ProxyOptions.defaults()
                .withTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofSeconds(2), Duration.ofSeconds(10))
                .withMinDataRate(20_000, Duration.ofMillis(500)));
        tls.proxy.setSites(List.of(new TenantSite("app", List.of("h2.test"), new Upstream.Tcp("127.0.0.1", app.port()),
                null, false, false, 1L << 20, 100)));
        port = tls.port;
        clientTls = SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE)
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_2))
                .build();
    }

    @AfterAll
    static void stop() throws Exception {
        tls.close();
        app.close();
        clients.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    @Test
    void aStreamWhoseWindowStaysShutIsResetAndItsUpstreamClosedWhileTheOthersGoOn() throws Exception {
        String stalledPath = "/big/" + (32L << 20); // far more than the upstream socket's buffers
        int otherSize = 256 * 1024;
        Channel connection = connect();
        ScheduledFuture<?> pings = keepBusy(connection);
        try {
            long started = System.nanoTime();
            Response stalled = get(connection, stalledPath, false); // never a WINDOW_UPDATE for it
            Response other = get(connection, "/big/" + otherSize, true);

            assertThat(other.ended.get(5, TimeUnit.SECONDS)).as("the other stream's body").isEqualTo(otherSize);
            assertThat(other.status.getNow(null)).isEqualTo("200");
            assertThat(stalled.reset.get(5, TimeUnit.SECONDS)).as("the stalled stream's RST_STREAM")
                    .isEqualTo(Http2Error.CANCEL.code());
            assertThat(Duration.ofNanos(System.nanoTime() - started)).as("reset after the grace")
                    .isGreaterThanOrEqualTo(Duration.ofMillis(500));
            assertThat(stalled.bytes).as("what the stalled stream's window let through").isEqualTo(WINDOW);
            assertThat(other.reset).isNotDone();
            waitUntil("the app sees the stalled stream's upstream connection closed",
                    () -> app.brokenResponses.contains(stalledPath));

            // The connection itself serves on.
            Response after = get(connection, "/after-the-reset", true);
            assertThat(after.status.get(5, TimeUnit.SECONDS)).isEqualTo("200");
            assertThat(after.ended.get(5, TimeUnit.SECONDS)).isPositive();
            assertThat(connection.isActive()).isTrue();
        } finally {
            pings.cancel(false);
            connection.close().sync();
        }
    }

    @Test
    void aFinishedResponseTheWindowStillHoldsBackIsResetToo() throws Exception {
        // Small enough for the proxy to take all of it from the app (the upstream goes back to
        // the pool): what the stream then holds is the proxy's memory and one of the 128 streams.
        Channel connection = connect();
        ScheduledFuture<?> pings = keepBusy(connection);
        try {
            Response stalled = get(connection, "/big/" + (48 * 1024), false);
            assertThat(stalled.reset.get(5, TimeUnit.SECONDS)).isEqualTo(Http2Error.CANCEL.code());
            assertThat(stalled.bytes).isEqualTo(WINDOW);
            assertThat(stalled.ended).isNotDone();
            assertThat(connection.isActive()).isTrue();
        } finally {
            pings.cancel(false);
            connection.close().sync();
        }
    }

    @Test
    void aStreamLetThroughSlowlyButAboveTheRateIsNotReset() throws Exception {
        int size = 96 * 1024;
        int step = 4096; // every 100 ms: 40,960 B/s, twice the minimum
        Channel connection = connect();
        try {
            long started = System.nanoTime();
            Response slow = get(connection, "/big/" + size, false);
            ScheduledFuture<?> grants = slow.channel.eventLoop().scheduleAtFixedRate(() -> {
                int grant = Math.min(step, slow.unreturned);
                if (grant > 0 && slow.channel.isActive()) {
                    slow.unreturned -= grant;
                    slow.channel.writeAndFlush(new DefaultHttp2WindowUpdateFrame(grant));
                }
            }, 100, 100, TimeUnit.MILLISECONDS);
            try {
                CompletableFuture.anyOf(slow.ended, slow.reset).get(10, TimeUnit.SECONDS);
            } finally {
                grants.cancel(false);
            }
            assertThat(slow.reset).as("RST_STREAM").isNotDone();
            assertThat(slow.ended.getNow(-1)).isEqualTo(size);
            assertThat(Duration.ofNanos(System.nanoTime() - started)).as("held back well past the grace")
                    .isGreaterThan(Duration.ofMillis(1500));
        } finally {
            connection.close().sync();
        }
    }

    /** An HTTP/2 connection through TLS whose stream windows start at {@link #WINDOW}. */
    private static Channel connect() {
        return new Bootstrap().group(clients).channel(EpollSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        channel.pipeline().addLast(clientTls.newHandler(channel.alloc(), "h2.test", port),
                                Http2FrameCodecBuilder.forClient()
                                        .initialSettings(Http2Settings.defaultSettings().initialWindowSize(WINDOW)).build(),
                                new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                    }
                })
                .connect("127.0.0.1", port).syncUninterruptibly().channel();
    }

    /** PINGs every 100 ms: the connection is never idle, whatever its streams do. */
    private static ScheduledFuture<?> keepBusy(Channel connection) {
        return connection.eventLoop().scheduleAtFixedRate(
                () -> connection.writeAndFlush(new DefaultHttp2PingFrame(42)), 100, 100, TimeUnit.MILLISECONDS);
    }

    /** GET {@code path} on a new stream; {@code autoWindow}: the codec returns what was read, else nothing is. */
    private static Response get(Channel connection, String path, boolean autoWindow) {
        Response response = new Response();
        Http2StreamChannel stream = new Http2StreamChannelBootstrap(connection)
                .option(Http2StreamChannelOption.AUTO_STREAM_FLOW_CONTROL, autoWindow)
                .handler(response).open().syncUninterruptibly().getNow();
        response.channel = stream;
        stream.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers()
                .method("GET").scheme("https").authority("h2.test").path(path), true));
        return response;
    }

    /** What one stream received; updated on the client's event loop. */
    private static final class Response extends ChannelInboundHandlerAdapter {
        final CompletableFuture<String> status = new CompletableFuture<>();
        /** Body bytes when END_STREAM came. */
        final CompletableFuture<Integer> ended = new CompletableFuture<>();
        /** The error code of a RST_STREAM from the proxy. */
        final CompletableFuture<Long> reset = new CompletableFuture<>();
        volatile Http2StreamChannel channel;
        volatile int bytes;
        /** Body bytes not yet given back to the proxy as window. */
        int unreturned;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2HeadersFrame headers) {
                status.complete(headers.headers().status().toString());
                if (headers.isEndStream()) {
                    ended.complete(bytes);
                }
            } else if (msg instanceof Http2DataFrame data) {
                bytes += data.content().readableBytes();
                unreturned += data.initialFlowControlledBytes();
                if (data.isEndStream()) {
                    ended.complete(bytes);
                }
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof Http2ResetFrame rst) {
                reset.complete(rst.errorCode());
            }
            ReferenceCountUtil.release(evt);
        }
    }

    private static void waitUntil(String what, BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 100 && !condition.getAsBoolean(); i++) {
            Thread.sleep(100);
        }
        assertThat(condition.getAsBoolean()).as(what).isTrue();
    }
}
