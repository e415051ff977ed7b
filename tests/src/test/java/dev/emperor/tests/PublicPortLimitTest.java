package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The attack: one tenant's {@code port} lines take the whole public port range for good (a port
 * once given is never given to anyone else). Each tenant may hold {@code max-ports} (8) ports;
 * the lines beyond are refused in status and events, its other ports keep working, and
 * renaming services cannot drain the range either, because released ports count. Only the
 * operator (emperor.ini's max-ports-for) raises one tenant's limit.
 */
class PublicPortLimitTest {
    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().webApp().build();
    private final EmperorProcess emperor = fixture.process();
    private int rangeStart;

    @BeforeEach
    void readPortRange() {
        rangeStart = Integer.parseInt(EmperorProcess.readLines(emperor.configFile()).stream().filter(l -> l.startsWith("port-range"))
                .findFirst().orElseThrow().replaceAll("\\D*(\\d+)-.*", "$1"));
    }

    @Test
    void aTenantGetsEightPortsTheRestAreRefusedAndRenamingCannotDrainTheRange() throws Exception {
        List<String> lines = new ArrayList<>(List.of("port = echo tcp 7000"));
        for (int i = 1; i < 12; i++) lines.add("port = extra" + i + " tcp " + (7000 + i));
        TenantWebApp.tenant(emperor, "greedy", lines.toArray(String[]::new));
        emperor.waitForRunning("greedy");
        JsonNode status = waitForPorts("greedy", 8);
        assertThat(problems(status)).hasSize(4).allSatisfy(p -> assertThat(p)
                .contains("refused: tenant greedy already holds 8 public ports and its limit is 8 (max-ports)"));
        assertThat(problems(status).get(0)).startsWith("port extra8 refused");
        int echo = portOf(status, "echo");
        assertThat(echo).isEqualTo(rangeStart);
        assertThat(echoes(echo)).as("the echo service despite the refused lines").isTrue();
        emperor.waitFor("the refusal in greedy's events", Duration.ofSeconds(10),
                () -> emperor.command("events", "greedy").out().contains("port extra11 refused"));

        // renaming: the 7 extra services replaced by 7 new names; the old ones stay reserved and count
        lines = new ArrayList<>(List.of("port = echo tcp 7000"));
        for (int i = 1; i < 8; i++) lines.add("port = renamed" + i + " tcp " + (7000 + i));
        TenantWebApp.tenant(emperor, "greedy", lines.toArray(String[]::new));
        status = waitFor("greedy", s -> s.path("ports").size() == 1 && problems(s).size() == 7);
        assertThat(problems(status).get(0)).contains("port renamed1 refused", "ports of removed services count too",
                "extra1, extra2");
        assertThat(echoes(echo)).isTrue();

        // the range is not drained: the next tenant gets the port right after greedy's eight
        TenantWebApp.tenant(emperor, "neighbour", "port = echo tcp 7000");
        emperor.waitForRunning("neighbour");
        int neighbours = portOf(waitForPorts("neighbour", 1), "echo");
        assertThat(neighbours).isEqualTo(rangeStart + 8);
        assertThat(echoes(neighbours)).isTrue();

        // only the operator raises it: two more ports for greedy
        emperor.set("max-ports-for", "greedy 10");
        emperor.reload();
        status = waitFor("greedy", s -> s.path("ports").size() == 3 && problems(s).size() == 5);
        assertThat(portOf(status, "renamed1")).isEqualTo(rangeStart + 9);
        assertThat(problems(status).get(0)).contains("port renamed3 refused", "already holds 10", "limit is 10");
    }

    @Test
    void aVassalFileCannotSetItsOwnLimit() {
        TenantWebApp.tenant(emperor, "sneaky", "max-ports = 100", "port = echo tcp 7000");
        emperor.waitFor("sneaky's file refused", Duration.ofSeconds(30), () -> emperor.status("sneaky")
                .map(s -> s.toString().contains("max-ports")).orElse(false), () -> "" + emperor.status("sneaky"));
    }

    private JsonNode waitForPorts(String tenant, int count) {
        return waitFor(tenant, s -> s.path("ports").size() == count);
    }

    private JsonNode waitFor(String tenant, java.util.function.Predicate<JsonNode> check) {
        JsonNode[] seen = new JsonNode[1];
        emperor.waitFor(tenant + "'s ports in status", Duration.ofSeconds(30), () -> {
            seen[0] = emperor.statusOf(tenant);
            return check.test(seen[0]);
        }, () -> "status: " + seen[0]);
        return seen[0];
    }

    private static List<String> problems(JsonNode status) {
        List<String> list = new ArrayList<>();
        status.path("webProblems").forEach(p -> list.add(p.asText()));
        return list;
    }

    private static int portOf(JsonNode status, String service) {
        for (JsonNode p : status.path("ports")) {
            if (p.path("service").asText().equals(service)) return p.path("publicPort").asInt();
        }
        throw new AssertionError("no port " + service + " in " + status);
    }

    /** Whether a line sent through the public port comes back (the app's echo on port 7000). */
    private boolean echoes(int port) {
        boolean[] ok = new boolean[1];
        emperor.waitFor("an echo through public port " + port, Duration.ofSeconds(30), () -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
                s.setSoTimeout(3000);
                s.getOutputStream().write("ping\n".getBytes(StandardCharsets.UTF_8));
                String line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
                ok[0] = "ping".equals(line);
                return ok[0];
            } catch (IOException e) {
                return false;
            }
        });
        return ok[0];
    }
}
