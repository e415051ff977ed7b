package dev.emperor.tests;

import static dev.emperor.tests.EmperorProcess.SLEEPER;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A payload that keeps dying is retried ever more slowly, and never disturbs its neighbours. */
class CrashLoopBackoffTest {
    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().build();
    private final EmperorProcess emperor = fixture.process();

    @Test
    void crashingPayloadBacksOffWithGrowingDelaysWhileNeighbourKeepsItsPid() {
        emperor.vassal("steady", SLEEPER, "distro = busybox");
        int steadyPid = emperor.waitForRunning("steady").path("pid").asInt();
        emperor.vassal("crasher", "exec = sh -c 'exit 3'", "distro = busybox");

        // Largest retryInSeconds seen while waiting after the n-th crash.
        TreeMap<Integer, Long> delayAfterCrash = new TreeMap<>();
        List<String> seen = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(25).toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode c = emperor.statusOf("crasher");
            seen.add(c.path("state").asText() + "/" + c.path("restarts").asInt() + "/" + c.path("retryInSeconds"));
            if (c.path("state").asText().equals("backing-off")) {
                delayAfterCrash.merge(c.path("restarts").asInt(), c.path("retryInSeconds").asLong(), Math::max);
                assertThat(c.path("lastExit").asText()).as("last exit names the code").contains("3");
            }
            JsonNode s = emperor.statusOf("steady");
            assertThat(s.path("pid").asInt()).as("the neighbour is never restarted").isEqualTo(steadyPid);
            assertThat(s.path("state").asText()).isEqualTo("running");
            EmperorProcess.sleep(Duration.ofMillis(300));
        }

        assertThat(delayAfterCrash).as("backing-off observed (state/restarts/retry: %s)", seen).isNotEmpty();
        assertThat(delayAfterCrash.lastKey()).as("it was retried several times: %s", seen).isGreaterThanOrEqualTo(3);
        long first = delayAfterCrash.firstEntry().getValue();
        long last = delayAfterCrash.lastEntry().getValue();
        assertThat(last).as("the delay grows (per crash: %s)", delayAfterCrash).isGreaterThan(first)
                .isGreaterThanOrEqualTo(4);
        assertThat(emperor.statusOf("steady").path("restarts").asInt()).isZero();
        assertThat(emperor.spawnCount("steady")).isEqualTo(1);
    }
}
