package dev.emperor.tests;

import static dev.emperor.tests.EmperorProcess.SLEEPER;
import static dev.emperor.tests.EmperorProcess.alive;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A tenant that is gone leaves nothing: no process, no cgroup, no mount, no jail directory.
 * (Its mounts live in its own mount namespace, which dies with its last process; so "no
 * process in its cgroup" and "no mount visible on the host" together mean no mount at all.)
 */
class CleanupTest {
    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().build();
    private final EmperorProcess emperor = fixture.process();

    private Path jailDir(String tenant) {
        return emperor.root().resolve("run/jails").resolve(tenant);
    }

    /** The host mounts of a tenant's disk image: the image, its home and its /run (kept while its file exists). */
    private List<String> diskMounts(String tenant) {
        Path root = emperor.root();
        return List.of(root.resolve("run/volumes").resolve(tenant).toString(), root.resolve("home").resolve(tenant).toString(),
                root.resolve("run/vassals").resolve(tenant).toString());
    }

    /** Nothing of a stopped tenant is left but its disk image's mounts (none once the emperor took it down). */
    private void assertNothingLeft(String tenant, boolean diskMounted) {
        assertThat(emperor.processesOf(tenant)).as("%s: processes in its cgroup", tenant).isEmpty();
        assertThat(emperor.cgroupDirsOf(tenant)).as("%s: cgroup directories", tenant).isEmpty();
        assertThat(emperor.mountsUnderRoot()).as("mounts visible on the host under the test root")
                .containsExactlyInAnyOrderElementsOf(diskMounted ? diskMounts(tenant) : List.of());
        assertThat(jailDir(tenant)).as("%s: the directory its root was mounted on", tenant).doesNotExist();
    }

    @Test
    void runningTenantsMountsNeverShowOnTheHost() {
        emperor.vassal("alpha", SLEEPER, "distro = busybox", "memory = 64M", "pids = 20", "cpu = 50%");
        emperor.waitForRunning("alpha");
        // The host sees only the tenant's disk image and its two views (home, /run), which the
        // emperor mounts there on purpose; nothing of the jail's own mounts.
        assertThat(emperor.mountsUnderRoot()).as("jail mounts propagated to the host")
                .containsExactlyInAnyOrderElementsOf(diskMounts("alpha"));
        assertThat(emperor.cgroupDirsOf("alpha")).as("alpha has cgroups while it runs").isNotEmpty();
    }

    @Test
    void stoppedTenantLeavesNothing() {
        emperor.vassal("alpha", SLEEPER, "distro = busybox", "memory = 64M", "pids = 20");
        int pid = emperor.waitForRunning("alpha").path("pid").asInt();
        emperor.waitFor("alpha's payload", Duration.ofSeconds(10), () -> emperor.processesOf("alpha").size() == 2);

        assertThat(emperor.command("stop", "alpha").code()).isZero();
        emperor.waitForState("alpha", "stopped", Duration.ofSeconds(20));

        assertThat(alive(pid)).isFalse();
        emperor.waitFor("alpha's cgroups to go", Duration.ofSeconds(5), () -> emperor.cgroupDirsOf("alpha").isEmpty());
        assertNothingLeft("alpha", true);
    }

    @Test
    void aRemovedTenantLeavesNoRuntimeFilesButItsHomeAndImage() throws Exception {
        emperor.vassal("alpha", SLEEPER, "distro = busybox");
        emperor.waitForRunning("alpha");
        emperor.waitFor("alpha's payload", Duration.ofSeconds(10), () -> emperor.spawnCount("alpha") == 1);
        java.nio.file.Path run = emperor.root().resolve("run/vassals/alpha");
        java.nio.file.Path accounts = emperor.root().resolve("run/accounts/alpha");
        assertThat(accounts).isDirectory();

        java.nio.file.Files.delete(emperor.vassalsDir().resolve("alpha.ini"));
        emperor.waitFor("alpha to be removed", Duration.ofSeconds(20), () -> emperor.status("alpha").isEmpty());
        emperor.waitFor("its runtime files to go", Duration.ofSeconds(10),
                () -> !java.nio.file.Files.exists(run) && !java.nio.file.Files.exists(accounts));
        assertThat(emperor.root().resolve("state/volumes/alpha.img")).as("its data is kept").exists();
        assertThat(emperor.mountsUnderRoot()).isEmpty();
    }

    @Test
    void payloadIgnoringSigtermIsKilledAfterTheGracePeriod() {
        emperor.vassal("stubborn", "exec = sh -c \"trap '' TERM; echo $$ >> /run/spawns; while :; do sleep 1; done\"",
                "distro = busybox");
        int pid = emperor.waitForRunning("stubborn").path("pid").asInt();
        emperor.waitFor("the payload", Duration.ofSeconds(10), () -> emperor.spawnCount("stubborn") == 1);

        long t0 = System.nanoTime();
        assertThat(emperor.command("stop", "stubborn").code()).isZero();
        emperor.waitForState("stubborn", "stopped", Duration.ofSeconds(20));
        double seconds = (System.nanoTime() - t0) / 1e9;

        assertThat(seconds).as("stop-grace = 2s, then SIGKILL").isLessThan(15);
        assertThat(alive(pid)).isFalse();
        emperor.waitFor("stubborn's cgroups to go", Duration.ofSeconds(5),
                () -> emperor.cgroupDirsOf("stubborn").isEmpty());
        assertNothingLeft("stubborn", true);
    }

    @Test
    void failedSpawnLeavesNothing() {
        emperor.vassal("ghost", "exec = /no/such/program --flag", "distro = busybox", "memory = 64M");

        JsonNode[] seen = new JsonNode[1];
        emperor.waitFor("ghost to fail and be clean between attempts", Duration.ofSeconds(30), () -> {
            seen[0] = emperor.statusOf("ghost");
            String state = seen[0].path("state").asText();
            return (state.equals("backing-off") || state.equals("failed"))
                    && emperor.processesOf("ghost").isEmpty() && emperor.cgroupDirsOf("ghost").isEmpty()
                    && !Files.exists(jailDir("ghost"));
        }, () -> "status " + seen[0] + ", cgroups " + emperor.cgroupDirsOf("ghost"));
        assertThat(seen[0].path("reason").asText() + " " + seen[0].path("lastError").asText() + " "
                + seen[0].path("lastExit").asText())
                .as("the error names the program").contains("/no/such/program");
        assertThat(seen[0].path("pid").asInt()).isZero();
        assertNothingLeft("ghost", true);

        assertThat(emperor.command("stop", "ghost").code()).isZero();
        emperor.waitForState("ghost", "stopped", Duration.ofSeconds(20));
        assertNothingLeft("ghost", true);
    }

    @Test
    void stoppingTheEmperorWithOnExitStopLeavesNothing() throws Exception {
        List<String> names = List.of("a1", "a2", "a3");
        for (String n : names) emperor.vassal(n, SLEEPER, "distro = busybox", "memory = 32M");
        List<Integer> pids = names.stream().map(n -> emperor.waitForRunning(n).path("pid").asInt()).toList();

        assertThat(emperor.stop()).isZero();

        assertThat(pids.stream().filter(EmperorProcess::alive).toList()).as("tenant pids still alive").isEmpty();
        assertThat(emperor.processesOfSubtree()).isEmpty();
        for (String n : names) assertNothingLeft(n, false);
        assertThat(exitCodeOf("nft", "list", "table", "ip", "emperor_" + emperor.gatewayName()))
                .as("nft listing the emperor's NAT table after the emperor stopped every tenant").isNotZero();
    }

    private static int exitCodeOf(String... command) throws Exception {
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start().waitFor();
    }
}
