package dev.emperor.tests;

import static dev.emperor.tests.EmperorProcess.SLEEPER;
import static dev.emperor.tests.EmperorProcess.alive;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** `emperor stop|start|reload NAME` and `logs` act on one tenant only. */
class OperatorCommandsTest {
    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().build();
    private final EmperorProcess emperor = fixture.process();

    @Test
    void stopKeepsTheTenantDownUntilStart() {
        emperor.vassal("alpha", SLEEPER, "distro = busybox");
        emperor.vassal("beta", SLEEPER, "distro = busybox");
        int first = emperor.waitForRunning("alpha").path("pid").asInt();
        int betaPid = emperor.waitForRunning("beta").path("pid").asInt();

        EmperorProcess.CliResult stop = emperor.command("stop", "alpha");
        assertThat(stop.code()).as("stop: %s", stop.err()).isZero();
        JsonNode stopped = emperor.waitForState("alpha", "stopped", Duration.ofSeconds(20));
        assertThat(stopped.path("pid").asInt()).isZero();
        emperor.waitFor("the old payload to be gone", Duration.ofSeconds(5), () -> !alive(first));
        assertThat(emperor.processesOf("alpha")).isEmpty();

        EmperorProcess.sleep(Duration.ofSeconds(3)); // rescans must not bring it back
        assertThat(emperor.statusOf("alpha").path("state").asText()).isEqualTo("stopped");
        assertThat(emperor.spawnCount("alpha")).isEqualTo(1);

        EmperorProcess.CliResult start = emperor.command("start", "alpha");
        assertThat(start.code()).as("start: %s", start.err()).isZero();
        int second = emperor.waitForRunning("alpha").path("pid").asInt();
        assertThat(second).isNotEqualTo(first);
        assertThat(emperor.spawnCount("alpha")).isEqualTo(2);
        assertThat(emperor.statusOf("beta").path("pid").asInt()).isEqualTo(betaPid);
    }

    @Test
    void reloadRestartsWithANewPid() {
        emperor.vassal("alpha", SLEEPER, "distro = busybox");
        int first = emperor.waitForRunning("alpha").path("pid").asInt();

        assertThat(emperor.command("reload", "alpha").code()).isZero();

        emperor.waitFor("a new pid", Duration.ofSeconds(30), () -> {
            JsonNode s = emperor.statusOf("alpha");
            return s.path("state").asText().equals("running") && s.path("pid").asInt() != first;
        });
        assertThat(alive(first)).isFalse();
        assertThat(emperor.spawnCount("alpha")).isEqualTo(2);
    }

    @Test
    void commandsOnAnUnknownTenantFail() {
        assertThat(emperor.command("stop", "nobody").code()).isEqualTo(1);
        assertThat(emperor.command("status", "nobody", "--json").code()).isEqualTo(1);
    }

    @Test
    void logsShowWhatThePayloadPrinted() {
        emperor.vassal("alpha", "exec = sh -c \"echo hello-from-alpha; echo oops >&2; exec sleep 100000\"",
                "distro = busybox");
        emperor.waitForRunning("alpha");
        emperor.waitFor("the log to hold both lines", Duration.ofSeconds(10), () -> {
            String log = String.join("\n", EmperorProcess.readLines(emperor.logOf("alpha")));
            return log.contains("hello-from-alpha") && log.contains("oops");
        });
        EmperorProcess.CliResult logs = emperor.command("logs", "alpha", "-n", "10");
        assertThat(logs.code()).isZero();
        assertThat(logs.out()).contains("hello-from-alpha").contains("oops");
    }
    @Test
    void waitReturnsOnceTheActionHasHadItsEffect() {
        // ignores SIGTERM: the stop takes the whole stop-grace (2 s), so an early return would show
        emperor.vassal("alpha", "exec = sh -c \"trap '' TERM; exec sleep 100000\"", "distro = busybox");
        int first = emperor.waitForRunning("alpha").path("pid").asInt();

        EmperorProcess.CliResult stop = emperor.command("stop", "alpha", "--wait", "30");
        assertThat(stop.code()).as("stop --wait: %s", stop.err()).isZero();
        assertThat(emperor.statusOf("alpha").path("state").asText()).isEqualTo("stopped");
        assertThat(alive(first)).isFalse();

        EmperorProcess.CliResult start = emperor.command("start", "alpha", "--wait");
        assertThat(start.code()).as("start --wait: %s", start.err()).isZero();
        JsonNode running = emperor.statusOf("alpha");
        assertThat(running.path("state").asText()).isEqualTo("running");
        int second = running.path("pid").asInt();

        EmperorProcess.CliResult reload = emperor.command("reload", "alpha", "--wait", "30");
        assertThat(reload.code()).as("reload --wait: %s", reload.err()).isZero();
        JsonNode reloaded = emperor.statusOf("alpha");
        assertThat(reloaded.path("state").asText()).isEqualTo("running");
        assertThat(reloaded.path("pid").asInt()).isNotIn(0, second);
    }

    @Test
    void waitExitsOneWhenTheTenantCannotStartOrTimeRunsOut() {
        emperor.vassal("broken", "exec = /no/such/program", "distro = busybox");
        emperor.waitFor("a failed spawn", Duration.ofSeconds(20),
                () -> emperor.statusOf("broken").path("restarts").asInt() > 0
                        || emperor.statusOf("broken").path("state").asText().equals("backing-off"));
        EmperorProcess.CliResult start = emperor.command("start", "broken", "--wait", "20");
        assertThat(start.code()).isEqualTo(1);
        assertThat(start.err()).contains("broken: backing-off");
        // the spawn's own error is the tenant's lastError (it was empty while it crash-looped)
        assertThat(emperor.statusOf("broken").path("lastError").asText()).contains("/no/such/program");

        emperor.vassal("slow", "exec = sh -c \"trap '' TERM; exec sleep 100000\"", "distro = busybox");
        emperor.waitForRunning("slow");
        EmperorProcess.CliResult stop = emperor.command("stop", "slow", "--wait", "1"); // the grace is 2 s
        assertThat(stop.code()).isEqualTo(1);
        assertThat(stop.err()).contains("still stopping");
        assertThat(emperor.command("stop", "slow", "--wait", "0").code()).isEqualTo(2);
    }
}
