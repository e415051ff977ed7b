package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HexFormat;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Public ports on the addresses of emperor.ini's {@code port-listen} only, and the PROXY protocol
 * v2 header a {@code proxy-protocol} port sends ahead of the client's bytes, as the tenant's own
 * server (python3 in the tenant) receives them.
 */
class PublicPortAddressTest {
    /** On port 7001: reads a connection to its end, answers with the hex of every byte it got. */
    private static final String RECORDER = """
            import socket, threading
            def serve(conn):
                data = b""
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                conn.sendall(data.hex().encode() + b"\\n")
                conn.close()
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", 7001))
            s.listen(64)
            while True:
                conn, _ = s.accept()
                threading.Thread(target=serve, args=(conn,), daemon=True).start()
            """;
    /** "\r\n\r\n\0\r\nQUIT\n": the PROXY v2 signature. */
    private static final String SIGNATURE = "0d0a0d0a000d0a515549540a";

    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().webApp().notStarted().build();
    private final EmperorProcess emperor = fixture.process();

    @BeforeEach
    void installRecorder() throws IOException {
        Files.writeString(emperor.root().resolve("opt/recorder.py"), RECORDER);
    }

    @Test
    void portListenOn127002AnswersThereAndNotOn127003() throws Exception {
        emperor.set("port-listen", "127.0.0.2").start();
        TenantWebApp.tenant(emperor, "alpha", "port = echo tcp 7000");
        emperor.waitForRunning("alpha");
        int port = publicPort("alpha", "echo");
        emperor.waitFor("an echo on 127.0.0.2:" + port, Duration.ofSeconds(30),
                () -> "ping".equals(exchange("127.0.0.2", null, port, "ping".getBytes(StandardCharsets.US_ASCII))));
        assertThat(refused("127.0.0.3", port)).as("127.0.0.3:%d", port).isTrue();
        assertThat(refused("127.0.0.1", port)).as("127.0.0.1:%d", port).isTrue();
    }

    @Test
    void theTenantGetsTheClientsAddressInAProxyHeaderAndAClientsFakeHeaderOnlyAfterIt() throws Exception {
        emperor.start();
        TenantWebApp.tenant(emperor, "beta", "daemon = /usr/bin/python3 /opt/recorder.py",
                "port = rec tcp 7001 proxy-protocol");
        emperor.waitForRunning("beta");
        int port = publicPort("beta", "rec");
        // a client claiming, in a PROXY v2 header of its own, to be 6.6.6.6
        byte[] fake = HexFormat.of().parseHex(SIGNATURE + "2111000c060606067f0000010d050d05" + "6869");
        int[] clientPort = new int[1];
        String[] got = new String[1];
        emperor.waitFor("the recorder through public port " + port, Duration.ofSeconds(30), () -> {
            try (Socket s = new Socket()) {
                s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.3"), 0));
                clientPort[0] = s.getLocalPort();
                got[0] = exchange(s, "127.0.0.1", port, fake);
                return got[0] != null && !got[0].isEmpty();
            }
        }, () -> "got " + got[0]);
        assertThat(emperor.command("status", "beta").out()).contains("rec tcp 7001 -> public " + port + " (proxy-protocol)");
        String expected = SIGNATURE + "21" + "11" + "000c" + "7f000003" + "7f000001"
                + String.format("%04x%04x", clientPort[0], port);
        assertThat(got[0]).as("what the tenant's server read").isEqualTo(expected + HexFormat.of().formatHex(fake));
    }

    /** The public port of one of the tenant's services, once `emperor status NAME --json` shows it. */
    private int publicPort(String tenant, String service) {
        int[] port = new int[1];
        emperor.waitFor(tenant + "'s port " + service, Duration.ofSeconds(30), () -> {
            for (JsonNode p : emperor.statusOf(tenant).path("ports")) {
                if (p.path("service").asText().equals(service)) port[0] = p.path("publicPort").asInt();
            }
            return port[0] > 0;
        });
        return port[0];
    }

    /** Sends {@code bytes} from {@code from} (null: any address), ends the output, returns the first line back. */
    private static String exchange(String to, String from, int port, byte[] bytes) {
        try (Socket s = new Socket()) {
            if (from != null) s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
            return exchange(s, to, port, bytes);
        } catch (IOException e) {
            return null;
        }
    }

    private static String exchange(Socket s, String to, int port, byte[] bytes) {
        try {
            s.connect(new InetSocketAddress(InetAddress.getByName(to), port), 2000);
            s.setSoTimeout(5000);
            s.getOutputStream().write(bytes);
            s.shutdownOutput();
            String all = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            return all.strip();
        } catch (IOException e) {
            return null;
        }
    }

    private static boolean refused(String address, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getByName(address), port), 2000);
            return false;
        } catch (ConnectException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
