package dev.emperor.tests;

import static dev.emperor.tests.EmperorProcess.SLEEPER;
import static dev.emperor.tests.EmperorProcess.alive;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Restarting the emperor (even after kill -9) re-adopts live tenants: same pids, nothing
 * spawned twice; a tenant that died while nobody watched is respawned.
 */
class EmperorRestartTest {
    private static final List<String> TENANTS = List.of("alpha", "beta", "gamma");

    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().build();
    private final EmperorProcess emperor = fixture.process();

    @BeforeEach
    void writeTenants() {
        for (String name : TENANTS) emperor.vassal(name, SLEEPER, "distro = busybox");
    }

    private Map<String, Integer> runningPids() {
        return runningPids(1);
    }

    private Map<String, Integer> runningPids(int spawns) {
        Map<String, Integer> pids = new LinkedHashMap<>();
        for (String name : TENANTS) {
            pids.put(name, emperor.waitForRunning(name).path("pid").asInt());
            emperor.waitFor(name + " to start its payload", Duration.ofSeconds(10),
                    () -> emperor.spawnCount(name) == spawns && emperor.processesOf(name).size() == 2);
        }
        return pids;
    }

    /** pid 1 (the helper) and the payload: exactly two processes, one pid namespace. */
    private void assertRunsOnce(String name, int pid) {
        List<Integer> procs = emperor.processesOf(name);
        assertThat(procs).as("%s's processes", name).hasSize(2).contains(pid);
        for (int p : procs) {
            if (p != pid) {
                assertThat(EmperorProcess.pidNamespace(p)).as("%s: the payload is in pid 1's namespace", name)
                        .isEqualTo(EmperorProcess.pidNamespace(pid));
            }
        }
    }

    @Test
    void killMinus9ThenRestartReadoptsTheSamePidsAndRespawnsTheDead() {
        Map<String, Integer> before = runningPids();

        emperor.kill9();
        for (String name : TENANTS) {
            assertThat(alive(before.get(name))).as("%s survives the emperor's death", name).isTrue();
        }
        // gamma dies while nobody watches (killing pid 1 ends its whole pid namespace)
        ProcessHandle.of(before.get("gamma")).orElseThrow().destroyForcibly();
        emperor.waitFor("gamma's processes to end", Duration.ofSeconds(10),
                () -> emperor.processesOf("gamma").isEmpty());

        emperor.start();

        for (String name : List.of("alpha", "beta")) {
            int pid = emperor.waitForRunning(name).path("pid").asInt();
            assertThat(pid).as("%s re-adopted, not respawned", name).isEqualTo(before.get(name));
        }
        int gamma = emperor.waitForRunning("gamma").path("pid").asInt();
        assertThat(gamma).isNotEqualTo(before.get("gamma"));
        emperor.waitFor("gamma's new payload", Duration.ofSeconds(10), () -> emperor.spawnCount("gamma") == 2);

        EmperorProcess.sleep(Duration.ofSeconds(3)); // a late double spawn would show by now
        for (String name : List.of("alpha", "beta")) {
            assertThat(emperor.spawnCount(name)).as("%s spawned once in all", name).isEqualTo(1);
            assertRunsOnce(name, before.get(name));
            assertThat(emperor.statusOf(name).path("pid").asInt()).isEqualTo(before.get(name));
        }
        assertThat(emperor.spawnCount("gamma")).isEqualTo(2);
        assertRunsOnce("gamma", gamma);
        // sqlite-jdbc unpacks a 1 MB library at each start; a kill -9 used to leave it behind
        assertThat(unpackedSqliteLibraries()).isEmpty();
    }

    /**
     * An emptied state database under running tenants started silently and handed their
     * addresses and ports to others: the emperor now refuses to start and names them.
     */
    @Test
    void aStateDatabaseEmptiedUnderRunningTenantsIsRefusedNamingThem() throws Exception {
        Map<String, Integer> before = runningPids();
        emperor.kill9();
        try (var files = java.nio.file.Files.list(emperor.root().resolve("state"))) {
            for (java.nio.file.Path f : files.filter(f -> f.getFileName().toString().startsWith("emperor.db")).toList()) {
                java.nio.file.Files.delete(f);
            }
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(emperor::start)
                .hasMessageContaining("holds running tenants that the state database")
                .hasMessageContaining("[alpha, beta, gamma]");
        for (String name : TENANTS) {
            assertThat(alive(before.get(name))).as("%s is left alone", name).isTrue();
        }
    }

    private List<String> unpackedSqliteLibraries() {
        try (var files = java.nio.file.Files.list(emperor.root().resolve("state/tmp"))) {
            return files.map(f -> f.getFileName().toString()).filter(n -> n.startsWith("sqlite-")).toList();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void adoptedTenantIsStillSupervised() {
        Map<String, Integer> before = runningPids();
        emperor.kill9();
        emperor.start();
        int alpha = emperor.waitForRunning("alpha").path("pid").asInt();
        assertThat(alpha).isEqualTo(before.get("alpha"));

        // The new emperor notices the adopted payload's death and respawns it.
        ProcessHandle.of(alpha).orElseThrow().destroyForcibly();
        emperor.waitFor("alpha respawned", Duration.ofSeconds(30), () -> {
            var s = emperor.statusOf("alpha");
            return s.path("state").asText().equals("running") && s.path("pid").asInt() != alpha
                    && s.path("pid").asInt() != 0;
        });
        emperor.waitFor("alpha's second payload", Duration.ofSeconds(10), () -> emperor.spawnCount("alpha") == 2);
        // and an operator stop reaches it
        assertThat(emperor.command("stop", "beta").code()).isZero();
        emperor.waitForState("beta", "stopped", Duration.ofSeconds(20));
        assertThat(alive(before.get("beta"))).isFalse();
    }

    @Test
    void gracefulExitWithOnExitLeaveLeavesTenantsForTheNextEmperor() {
        Map<String, Integer> first = runningPids();
        assertThat(emperor.stop()).isZero(); // on-exit = stop: everything goes down...
        for (String name : TENANTS) assertThat(alive(first.get(name))).as("%s stopped", name).isFalse();
        emperor.set("on-exit", "leave").start(); // ...and comes back with the next emperor
        Map<String, Integer> before = runningPids(2);

        assertThat(emperor.stop()).isZero();
        for (String name : TENANTS) assertThat(alive(before.get(name))).as("%s left running", name).isTrue();

        emperor.start();
        for (String name : TENANTS) {
            assertThat(emperor.waitForRunning(name).path("pid").asInt()).isEqualTo(before.get(name));
            assertThat(emperor.spawnCount(name)).isEqualTo(2);
            assertRunsOnce(name, before.get(name));
        }

        // Tenants adopted this way are fully owned: an emperor with on-exit = stop takes them down.
        assertThat(emperor.stop()).isZero();
        emperor.set("on-exit", "stop").start();
        for (String name : TENANTS) {
            assertThat(emperor.waitForRunning(name).path("pid").asInt()).isEqualTo(before.get(name));
        }
        assertThat(emperor.stop()).isZero();
        for (String name : TENANTS) assertThat(alive(before.get(name))).as("%s stopped", name).isFalse();
        assertThat(emperor.processesOfSubtree()).isEmpty();
    }
}
