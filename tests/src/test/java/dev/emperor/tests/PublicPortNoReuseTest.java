package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A destroyed tenant's public port is never handed to another tenant, even though the
 * allocator gives out the lowest free port of the range (so the freed port is the one a
 * careless allocator would pick next), and not after an emperor restart either.
 */
class PublicPortNoReuseTest {
    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().webApp().build();
    private final EmperorProcess emperor = fixture.process();

    @Test
    void aDestroyedTenantsPortStaysClosedAndIsNotGivenToTheNextTenantAcrossARestart() throws Exception {
        TenantWebApp.tenant(emperor, "alpha", "port = echo tcp 7000");
        emperor.waitForRunning("alpha");
        int first = publicPort("alpha");
        waitForEcho(first);

        Files.delete(emperor.vassalsDir().resolve("alpha.ini"));
        emperor.waitFor("alpha to be gone", Duration.ofSeconds(30), () -> emperor.status("alpha").isEmpty());
        emperor.waitFor("alpha's port to close", Duration.ofSeconds(10), () -> refused(first));

        TenantWebApp.tenant(emperor, "beta", "port = echo tcp 7000");
        emperor.waitForRunning("beta");
        int second = publicPort("beta");
        assertThat(second).as("beta's port").isNotEqualTo(first);
        waitForEcho(second);
        assertThat(refused(first)).as("alpha's old port %d after beta came", first).isTrue();

        emperor.stop();
        emperor.start();
        emperor.waitForRunning("beta");
        assertThat(emperor.status("alpha")).as("alpha after the restart").isEmpty();
        assertThat(publicPort("beta")).as("beta's port after the restart").isEqualTo(second);
        waitForEcho(second);
        assertThat(refused(first)).as("alpha's old port %d after the restart", first).isTrue();

        // a tenant new after the restart does not get the freed port either
        TenantWebApp.tenant(emperor, "gamma", "port = echo tcp 7000");
        emperor.waitForRunning("gamma");
        int third = publicPort("gamma");
        assertThat(third).as("gamma's port").isNotIn(first, second);
        waitForEcho(third);
        assertThat(refused(first)).as("alpha's old port %d after gamma came", first).isTrue();
    }

    /** The tenant's one public port, as `emperor status NAME --json` shows it once assigned. */
    private int publicPort(String tenant) {
        JsonNode[] ports = new JsonNode[1];
        emperor.waitFor(tenant + "'s public port in status", Duration.ofSeconds(30), () -> {
            ports[0] = emperor.statusOf(tenant).path("ports");
            return ports[0].size() == 1 && ports[0].get(0).path("publicPort").asInt() > 0;
        }, () -> "ports: " + ports[0]);
        JsonNode port = ports[0].get(0);
        assertThat(port.path("service").asText()).isEqualTo("echo");
        return port.path("publicPort").asInt();
    }

    private void waitForEcho(int port) {
        emperor.waitFor("an echo through public port " + port, Duration.ofSeconds(30), () -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
                s.setSoTimeout(3000);
                s.getOutputStream().write("ping\n".getBytes(StandardCharsets.UTF_8));
                String line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
                return "ping".equals(line);
            } catch (IOException e) {
                return false;
            }
        });
    }

    /** Whether a connection to the port on 127.0.0.1 is refused (nothing listens there). */
    private static boolean refused(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            return false;
        } catch (ConnectException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
