package dev.emperor.tests;

import static dev.emperor.tests.EmperorProcess.alive;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Two hundred tenants arriving at once all come up, and all go down cleanly. */
class ManyVassalsTest {
    private static final int COUNT = 200;

    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().build();
    private final EmperorProcess emperor = fixture.process();

    @Test
    void twoHundredVassalsAllRunThenAllStopCleanly() {
        for (int i = 0; i < COUNT; i++) {
            emperor.vassal(String.format("t%03d", i), "exec = sleep 100000", "distro = busybox");
        }

        AtomicReference<List<JsonNode>> last = new AtomicReference<>();
        emperor.waitFor(COUNT + " running tenants", Duration.ofSeconds(180), () -> {
            last.set(emperor.statusJson());
            return last.get().size() == COUNT
                    && last.get().stream().allMatch(v -> v.path("state").asText().equals("running"));
        }, () -> "not running: " + (last.get() == null ? "?" : last.get().stream()
                .filter(v -> !v.path("state").asText().equals("running"))
                .map(v -> v.path("name").asText() + "=" + v.path("state").asText() + " " + v.path("lastError"))
                .limit(20).toList()));

        Set<Integer> pids = new HashSet<>();
        Set<Integer> uids = new HashSet<>();
        for (JsonNode v : last.get()) {
            pids.add(v.path("pid").asInt());
            uids.add(v.path("uid").asInt());
            assertThat(v.path("restarts").asInt()).as(v.path("name").asText()).isZero();
        }
        assertThat(pids).as("distinct live pids").hasSize(COUNT).allMatch(EmperorProcess::alive);
        assertThat(uids).as("one uid per tenant").hasSize(COUNT);

        assertThat(emperor.stop()).as("emperor exit code").isZero();

        assertThat(pids.stream().filter(EmperorProcess::alive).toList()).as("tenants still alive").isEmpty();
        assertThat(emperor.processesOfSubtree()).as("processes left in the cgroup subtree").isEmpty();
        assertThat(emperor.cgroupDirs().stream().filter(d -> !d.getFileName().toString()
                .equals(emperor.cgroupName())).toList()).as("tenant cgroups left").isEmpty();
    }
}
