package dev.emperor.proxy.acme;

import dev.emperor.proxy.tls.TestPki;
import dev.emperor.proxy.tls.TestPki.Issued;
import dev.emperor.proxy.tls.TestPki.LeafSpec;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real local ACME CA for tests: Debian's {@code pebble}, with {@code pebble-challtestsrv}
 * as its DNS server answering 127.0.0.1 for every name, so pebble's HTTP-01 validation
 * really connects to the test's HTTP server on {@code httpPort}. Pebble's own TLS
 * certificate comes from a test CA made here. Both processes are stopped by their pid.
 */
final class Pebble implements AutoCloseable {

    private final Process dns;
    private final Process pebble;
    private final int port;
    final X509Certificate tlsCa;
    final Path log;

    Pebble(Path dir, int httpPort) throws Exception {
        Issued ca = TestPki.rootCa("Pebble Test TLS CA");
        Issued tls = TestPki.leaf(LeafSpec.of("localhost", "localhost"), ca);
        tlsCa = ca.cert();
        Files.writeString(dir.resolve("pebble.crt"), TestPki.cert(tls.cert()) + TestPki.cert(ca.cert()));
        Files.writeString(dir.resolve("pebble.key"), TestPki.pkcs8Key(tls.keys()));
        port = freePort();
        int management = freePort();
        int dnsPort = freePort();
        int dnsManagement = freePort();
        Files.writeString(dir.resolve("pebble.json"), """
                {"pebble": {
                  "listenAddress": "127.0.0.1:%d",
                  "managementListenAddress": "127.0.0.1:%d",
                  "certificate": "%s",
                  "privateKey": "%s",
                  "httpPort": %d,
                  "tlsPort": %d,
                  "ocspResponderURL": "",
                  "externalAccountBindingRequired": false
                }}
                """.formatted(port, management, dir.resolve("pebble.crt"), dir.resolve("pebble.key"), httpPort, freePort()));
        log = dir.resolve("pebble.log");

        dns = new ProcessBuilder("pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
                "-dns01", "127.0.0.1:" + dnsPort, "-http01", "", "-https01", "", "-tlsalpn01", "",
                "-management", "127.0.0.1:" + dnsManagement)
                .redirectErrorStream(true).redirectOutput(dir.resolve("challtestsrv.log").toFile()).start();
        var builder = new ProcessBuilder("pebble", "-config", dir.resolve("pebble.json").toString(),
                "-dnsserver", "127.0.0.1:" + dnsPort)
                .redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().remove("PEBBLE_VA_ALWAYS_VALID"); // validation must be real
        builder.environment().put("PEBBLE_VA_NOSLEEP", "1");    // no random delay before validating
        builder.environment().put("PEBBLE_WFE_NONCEREJECT", "0"); // no deliberate bad nonces
        builder.environment().put("PEBBLE_AUTHZREUSE", "0");     // every order validates afresh
        pebble = builder.start();
        try {
            awaitListening(dnsManagement, dns);
            awaitListening(port, pebble);
        } catch (Exception e) {
            close();
            throw e;
        }
    }

    URI directory() {
        return URI.create("https://localhost:" + port + "/dir");
    }

    String output() throws IOException {
        return Files.readString(log);
    }

    private static int freePort() throws IOException {
        try (var socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static void awaitListening(int port, Process process) throws Exception {
        for (int attempt = 0; attempt < 200; attempt++) {
            if (!process.isAlive()) {
                throw new IllegalStateException(process.info().command().orElse("process") + " exited " + process.exitValue());
            }
            try (var socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        throw new IllegalStateException("nothing listens on 127.0.0.1:" + port);
    }

    @Override
    public void close() {
        for (Process process : List.of(pebble, dns)) {
            if (process == null) {
                continue;
            }
            process.destroy(); // SIGTERM to this pid only
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
