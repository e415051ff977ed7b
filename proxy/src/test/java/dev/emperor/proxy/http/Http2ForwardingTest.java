package dev.emperor.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.proxy.ProxyOptions;
import dev.emperor.proxy.TenantSite;
import dev.emperor.proxy.Upstream;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** HTTP/2 streams through TLS, the HTTP handlers and the upstream pool, with curl as the client. */
class Http2ForwardingTest {

    @TempDir
    Path dir;

    @Test
    void bodilessHttp2RequestsReuseUpstreamConnectionsAndTheAppNeverSeesHttp2InternalHeaders() throws Exception {
        try (Backends.Tcp backend = new Backends.Tcp("h2app"); TlsProxy tls = new TlsProxy(dir, ProxyOptions.defaults())) {
            tls.proxy.setSites(List.of(new TenantSite("h2app", List.of("h2.test"),
                    new Upstream.Tcp("127.0.0.1", backend.port()), null, false, false, 1 << 20, 100)));
            int port = tls.port;
            List<String> command = new ArrayList<>(List.of("curl", "-sS", "-k", "--http2",
                    "--resolve", "h2.test:" + port + ":127.0.0.1", "-w", "status %{http_version} %{http_code}\\n"));
            for (int i = 0; i < 10; i++) {
                command.add("https://h2.test:" + port + "/r" + i); // one connection, ten streams in turn
            }
            Process curl = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(curl.waitFor()).as(output).isZero();
            assertThat(output.lines().filter(line -> line.startsWith("status "))).hasSize(10)
                    .allMatch(line -> line.equals("status 2 200"));
            assertThat(backend.requests).hasSize(10);
            assertThat(backend.peerPorts).as("upstream connections used").hasSize(1);

            // The backend echoes the headers it got: Netty's HTTP/2 conversion adds
            // x-http2-scheme, x-http2-stream-id (...) for itself; they must stop at the proxy.
            Process echo = new ProcessBuilder("curl", "-sS", "-k", "--http2", "-H", "X-Http2-Path: /client-sent",
                    "--resolve", "h2.test:" + port + ":127.0.0.1", "https://h2.test:" + port + "/headers")
                    .redirectErrorStream(true).start();
            String headers = new String(echo.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(echo.waitFor()).as(headers).isZero();
            assertThat(headers).contains("backend=h2app", "h.x-forwarded-proto=https", "h.host=h2.test");
            assertThat(headers.lines()).noneMatch(line -> line.startsWith("h.x-http2-"));

            // Names with '_' stop at the proxy over HTTP/2 as well (apps read them as X-Forwarded-For).
            Process underscores = new ProcessBuilder("curl", "-sS", "-k", "--http2", "-H", "X_Forwarded_For: 6.6.6.6",
                    "-H", "X-Real_IP: 6.6.6.6", "--resolve", "h2.test:" + port + ":127.0.0.1",
                    "https://h2.test:" + port + "/headers").redirectErrorStream(true).start();
            String seen = new String(underscores.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(underscores.waitFor()).as(seen).isZero();
            assertThat(seen).contains("h.x-forwarded-for=127.0.0.1\n", "h.x-real-ip=127.0.0.1\n")
                    .doesNotContain("6.6.6.6");
        }
    }

    @Test
    void anHttp2ConnectionWithNoStreamsIsClosedAfterTheIdleTimeout() throws Exception {
        SSLContext trustAll = SSLContext.getInstance("TLS");
        trustAll.init(null, InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
        try (TlsProxy tls = new TlsProxy(dir, ProxyOptions.defaults()
                     .withTimeouts(Duration.ofSeconds(20), Duration.ofMillis(800), Duration.ofSeconds(5), Duration.ofSeconds(60)));
             SSLSocket socket = (SSLSocket) trustAll.getSocketFactory().createSocket("127.0.0.1", tls.port)) {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setApplicationProtocols(new String[] {"h2"});
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            assertThat(socket.getApplicationProtocol()).isEqualTo("h2");
            // The client preface and an empty SETTINGS frame, then nothing: no stream is ever opened.
            socket.getOutputStream().write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0});
            socket.getOutputStream().flush();
            socket.setSoTimeout(10_000);
            long started = System.nanoTime();
            boolean closed = false;
            try {
                while (socket.getInputStream().read(new byte[4096]) >= 0) {
                    // the server's SETTINGS and its ACK of ours
                }
                closed = true;
            } catch (SocketTimeoutException e) {
                closed = false;
            } catch (IOException reset) {
                closed = true;
            }
            assertThat(closed).as("the proxy closed the idle HTTP/2 connection within 10 s").isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(Duration.ofMillis(500));
        }
    }
}
