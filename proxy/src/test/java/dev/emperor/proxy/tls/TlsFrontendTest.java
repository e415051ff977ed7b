package dev.emperor.proxy.tls;

import static dev.emperor.proxy.tls.TestPki.bundle;
import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.proxy.tls.TestPki.Issued;
import dev.emperor.proxy.tls.TestPki.LeafSpec;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCounted;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The TLS front end against real clients: curl (h2 and HTTP/1.1), openssl s_client, JDK TLS. */
class TlsFrontendTest {

    static final Issued CA = TestPki.rootCa("Frontend Test CA");
    static final Issued PLATFORM = TestPki.leaf(LeafSpec.of("platform-wildcard", "*.platform.test"), CA);
    static final Issued SHOP = TestPki.leaf(LeafSpec.of("shop-v1", "shop.test"), CA);
    static final Issued SHOP_RENEWED = TestPki.leaf(LeafSpec.of("shop-v2", "shop.test").rsa(), CA);

    @TempDir
    Path dir;
    CertificateStore certificates;
    EventLoopGroup group;
    Channel server;
    int port;

    /** A tiny HTTP handler: answers "host path protocol" so the test sees what arrived. */
    static final HttpInstaller ECHO = (pipeline, http2Stream) -> {
        if (!http2Stream) {
            pipeline.addLast(new HttpServerCodec());
        }
        pipeline.addLast(new HttpObjectAggregator(64 * 1024));
        pipeline.addLast(new SimpleChannelInboundHandler<FullHttpRequest>() {
            @Override
            protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
                String body = request.headers().get(HttpHeaderNames.HOST) + " " + request.uri() + " "
                        + (http2Stream ? "h2" : "http/1.1") + "\n";
                var response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
                HttpUtil.setContentLength(response, response.content().readableBytes());
                ctx.writeAndFlush(response);
            }
        });
    };

    @BeforeEach
    void start() throws Exception {
        certificates = new CertificateStore(dir.resolve("certs"), "platform.test");
        Path cert = dir.resolve("platform.pem");
        java.nio.file.Files.write(cert, bundle(PLATFORM, CA));
        certificates.usePlatformCertificate(cert, cert);
        certificates.setSites(List.of(CertificateStoreTest.site("shop", "shop.test")));
        certificates.put("shop", bundle(SHOP, CA), List.of("shop.test"));

        var frontend = new TlsFrontend(certificates, ECHO);
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        server = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        frontend.install(channel.pipeline());
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
        port = ((InetSocketAddress) server.localAddress()).getPort();
    }

    @AfterEach
    void stop() throws Exception {
        server.close().sync();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        certificates.close();
    }

    @Test
    void curlGetsHttp2ThroughAlpn() throws Exception {
        Result result = run("curl", "-sS", "-k", "--http2", "--resolve", "shop.test:" + port + ":127.0.0.1",
                "-w", "%{http_version}", "https://shop.test:" + port + "/cart?x=1");
        assertThat(result.exit()).as(result.output()).isZero();
        assertThat(result.output()).isEqualTo("shop.test:" + port + " /cart?x=1 h2\n2");
    }

    @Test
    void curlGetsHttp11WhenItAsksForIt() throws Exception {
        Result result = run("curl", "-sS", "-k", "--http1.1", "--resolve", "shop.test:" + port + ":127.0.0.1",
                "-w", "%{http_version}", "https://shop.test:" + port + "/");
        assertThat(result.output()).isEqualTo("shop.test:" + port + " / http/1.1\n1.1");
    }

    @Test
    void eachNameGetsItsCertificateAndNoSniGetsTheFallback() throws Exception {
        assertThat(subjectFor("-servername", "shop.test")).isEqualTo("CN = shop-v1");
        assertThat(subjectFor("-servername", "anything.platform.test")).isEqualTo("CN = platform-wildcard");
        assertThat(subjectFor("-servername", "stranger.example")).isEqualTo("CN = platform.test");
        assertThat(subjectFor("-noservername")).isEqualTo("CN = platform.test");
    }

    @Test
    void onlyTls12AndTls13AreSpoken() throws Exception {
        // SECLEVEL=0 lets this openssl offer TLS 1.1 at all, so the refusal is the server's.
        Result tls11 = run("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-servername", "shop.test",
                "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0");
        assertThat(tls11.exit()).isNotZero();
        assertThat(tls11.output()).contains("alert protocol version");
        assertThat(run("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-servername", "shop.test", "-tls1_2")
                .output()).contains("New, TLSv1.2, Cipher is ECDHE-ECDSA-AES");
        assertThat(run("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-servername", "shop.test", "-tls1_3")
                .output()).contains("New, TLSv1.3, Cipher is TLS_AES_");
    }

    @Test
    void newCertificateServesTheNextHandshakeWhileAnOpenConnectionContinues() throws Exception {
        try (SSLSocket open = connect("shop.test")) {
            assertThat(peerCn(open)).isEqualTo("CN=shop-v1");
            assertThat(get(open, "/before")).contains("/before http/1.1");

            certificates.put("shop", bundle(SHOP_RENEWED, CA), List.of("shop.test"));

            assertThat(subjectFor("-servername", "shop.test")).isEqualTo("CN = shop-v2");
            assertThat(get(open, "/after")).contains("/after http/1.1");
            assertThat(peerCn(open)).isEqualTo("CN=shop-v1");
        }
    }

    @Test
    void aReturningClientResumesItsSessionWithoutAFullHandshake() throws Exception {
        for (String protocol : List.of("TLSv1.3", "TLSv1.2")) {
            var trust = new TrustEverything();
            SSLContext client = SSLContext.getInstance("TLS");
            client.init(null, new TrustManager[] {trust}, null); // one client: one session cache
            for (int visit = 0; visit < 2; visit++) {
                try (SSLSocket socket = connect(client, "shop.test", protocol)) {
                    assertThat(get(socket, "/visit")).contains("/visit http/1.1"); // also reads the 1.3 ticket
                    assertThat(socket.getSession().getProtocol()).isEqualTo(protocol);
                }
            }
            // A resumed handshake carries no certificate, so the client had nothing to check.
            assertThat(trust.serverChecks).as(protocol).isEqualTo(1);
        }
    }

    @Test
    void aReplacedCertificatesContextIsFreedWhenItsLastConnectionCloses() throws Exception {
        ReferenceCounted old = (ReferenceCounted) certificates.acquire("shop.test");
        old.release();
        try (SSLSocket open = connect("shop.test")) {
            assertThat(get(open, "/")).contains("http/1.1");
            certificates.put("shop", bundle(SHOP_RENEWED, CA), List.of("shop.test"));
            assertThat(old.refCnt()).isEqualTo(1); // only the open connection's engine
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (old.refCnt() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(10); // the server sees the close on its event loop
        }
        assertThat(old.refCnt()).isZero();
    }

    // --- clients ---

    private String subjectFor(String... sniArgs) throws Exception {
        List<String> command = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port));
        command.addAll(List.of(sniArgs));
        Result result = run(command.toArray(String[]::new));
        return result.output().lines().filter(l -> l.startsWith("subject=")).findFirst()
                .map(l -> l.substring("subject=".length())).orElseThrow(() -> new AssertionError(result.output()));
    }

    record Result(int exit, String output) {
    }

    private static Result run(String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("timed out: " + String.join(" ", command));
        }
        return new Result(process.exitValue(), output);
    }

    private SSLSocket connect(String serverName) throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, new TrustManager[] {new TrustEverything()}, null);
        return connect(context, serverName, null);
    }

    private SSLSocket connect(SSLContext context, String serverName, String protocol) throws Exception {
        SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port);
        var parameters = socket.getSSLParameters();
        if (protocol != null) {
            parameters.setProtocols(new String[] {protocol});
        }
        parameters.setServerNames(List.of(new SNIHostName(serverName)));
        parameters.setApplicationProtocols(new String[] {"http/1.1"});
        socket.setSSLParameters(parameters);
        socket.setSoTimeout(10_000);
        socket.startHandshake();
        return socket;
    }

    private static String peerCn(SSLSocket socket) throws Exception {
        return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
    }

    /** One keep-alive HTTP/1.1 request; reads the status line, headers and body. */
    private static String get(SSLSocket socket, String path) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(("GET " + path + " HTTP/1.1\r\nHost: shop.test\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        var in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
        int length = 0;
        for (String line = in.readLine(); !line.isEmpty(); line = in.readLine()) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        char[] body = new char[length];
        int read = 0;
        while (read < length) {
            read += in.read(body, read, length - read);
        }
        return new String(body);
    }

    /** The test checks which certificate arrives, not whether it chains to a trusted root. */
    private static final class TrustEverything implements X509TrustManager {
        int serverChecks;

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
            serverChecks++;
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
