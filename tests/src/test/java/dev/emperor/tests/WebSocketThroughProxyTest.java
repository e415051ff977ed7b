package dev.emperor.tests;

import com.fasterxml.jackson.databind.JsonNode;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A WebSocket from Debian's python3-websocket client, through the emperor's HTTP listener,
 * to a tenant app's hand-written RFC 6455 echo on its unix socket; the connection must outlive
 * a live change of the tenant's routes.
 */
class WebSocketThroughProxyTest {
    /** Connects to ws://127.0.0.1:PORT/chat with Host HOST:PORT, then sends each stdin line and prints the reply. */
    private static final String CLIENT = """
            import sys, websocket
            port, host = sys.argv[1], sys.argv[2]
            ws = websocket.create_connection("ws://127.0.0.1:%s/chat" % port, host="%s:%s" % (host, port), timeout=10)
            print("open", flush=True)
            for line in sys.stdin:
                ws.send(line.strip())
                print(ws.recv(), flush=True)
            ws.close()
            print("closed", flush=True)
            """;

    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().webApp().logsOnFailure("chat").build();
    private final EmperorProcess emperor = fixture.process();

    @Test
    void aWebSocketEchoesThroughTheProxyAndStaysOpenWhileTheTenantGainsADomain() throws Exception {
        TenantWebApp.tenant(emperor, "chat", "domain = chat.test");
        int pid = emperor.waitForRunning("chat").path("pid").asInt();
        waitForPage("chat.test");

        try (Client client = new Client("chat.test")) {
            assertThat(client.line()).isEqualTo("open");
            JsonNode before = emperor.statusOf("chat").path("webTraffic");
            assertThat(client.send("one")).isEqualTo("chat echoes one");
            // WebSocket bytes count as the tenant's web traffic: a masked 3-byte text frame
            // in (2 + 4 + 3 bytes), the 15-byte answer out (2 + 15 bytes)
            JsonNode after = emperor.statusOf("chat").path("webTraffic");
            assertThat(after.path("webBytesIn").asLong() - before.path("webBytesIn").asLong()).isEqualTo(9);
            assertThat(after.path("webBytesOut").asLong() - before.path("webBytesOut").asLong()).isEqualTo(17);

            // a new domain is a live route change: the site table is rebuilt, the tenant keeps running
            TenantWebApp.tenant(emperor, "chat", "domain = chat.test", "domain = talk.test");
            waitForPage("talk.test");
            assertThat(emperor.statusOf("chat").path("pid").asInt()).as("the tenant was not restarted").isEqualTo(pid);

            assertThat(client.send("two")).as("the first WebSocket after the change").isEqualTo("chat echoes two");
            try (Client second = new Client("talk.test")) {
                assertThat(second.line()).isEqualTo("open");
                assertThat(second.send("three")).isEqualTo("chat echoes three");
            }
            assertThat(client.send("four")).isEqualTo("chat echoes four");
            assertThat(client.hangUp()).isEqualTo("closed");
        }
        // the proxy let go of the upgraded connections: ordinary requests still work
        assertThat(TenantWebApp.curl(emperor, "chat.test", false, "/").text()).contains("hello from chat");
    }

    private void waitForPage(String host) {
        emperor.waitFor(host + " to serve the page", Duration.ofSeconds(60),
                () -> TenantWebApp.curl(emperor, host, false, "/").text().contains("hello from chat"));
    }

    /** The python3-websocket client, one line in, one line out, with a 10 s limit per line. */
    private final class Client implements AutoCloseable {
        private final Process process;
        private final BufferedReader out;
        private final Writer in;

        Client(String host) throws IOException {
            process = new ProcessBuilder("/usr/bin/python3", "-c", CLIENT, String.valueOf(emperor.httpPort()), host)
                    .redirectErrorStream(true).start();
            out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        }

        String send(String text) throws Exception {
            in.write(text + "\n");
            in.flush();
            return line();
        }

        /** Ends stdin: the client closes the WebSocket and says so. */
        String hangUp() throws Exception {
            in.close();
            return line();
        }

        /** The client's next line of output; on a traceback, the whole of it. */
        String line() throws Exception {
            CompletableFuture<String> next = CompletableFuture.supplyAsync(() -> {
                try {
                    String line = out.readLine();
                    if (line != null && line.startsWith("Traceback")) {
                        StringBuilder all = new StringBuilder(line);
                        for (String more; (more = out.readLine()) != null; ) all.append('\n').append(more);
                        return all.toString();
                    }
                    return line;
                } catch (IOException e) {
                    return "read failed: " + e;
                }
            });
            try {
                return next.get(10, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                return "(no answer in 10 s)";
            } catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }
}
