package dev.emperor.tests;

import static dev.emperor.tests.EmperorProcess.SLEEPER;
import static dev.emperor.tests.EmperorProcess.alive;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The state directory fills up under a running emperor (issue 21). Before, every change was
 * dropped (a new file never started, a changed one was not applied, a deleted one kept running,
 * a killed payload was not restarted), nothing was retried, and the log said "cannot commit - no
 * transaction is active". Now known tenants keep converging while it is full, a new tenant waits
 * for its uid to be on disk, status says what is wrong, and all of it catches up by itself.
 */
class StateDirectoryFullTest {
    private static final Duration CONVERGE = Duration.ofSeconds(60);

    @Test
    void changesWaitForAFullStateDirectoryAndConvergeOnceSpaceReturns() throws Exception {
        EmperorProcess emperor = new EmperorProcess();
        Path stateDir = emperor.root().resolve("state");
        Files.createDirectories(stateDir);
        // Tenants' disk images would live here too: keep the test about the database.
        emperor.set("disk-default", "unlimited");
        run("/bin/mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "emperor-test-state", stateDir.toString());
        try {
            emperor.start();
            emperor.vassal("keeper", SLEEPER, "distro = busybox");
            emperor.vassal("changer", SLEEPER, "distro = busybox", "hostname = before");
            emperor.vassal("doomed", SLEEPER, "distro = busybox");
            int keeperPid = emperor.waitForRunning("keeper").path("pid").asInt();
            int changerPid = emperor.waitForRunning("changer").path("pid").asInt();
            int doomedPid = emperor.waitForRunning("doomed").path("pid").asInt();

            Path filler = fill(stateDir);
            emperor.vassal("newcomer", SLEEPER, "distro = busybox", "port = web tcp 8080");
            emperor.vassal("changer", SLEEPER, "distro = busybox", "hostname = after");
            Files.delete(emperor.vassalsDir().resolve("doomed.ini"));
            run("/bin/kill", "-KILL", Integer.toString(keeperPid));

            // Status names the directory and its condition; the new tenant waits, saying why.
            emperor.waitFor("status to say the state directory is full", CONVERGE,
                    () -> emperor.command("status").out().contains("state: state directory full (" + stateDir + ")"),
                    () -> emperor.command("status").out());
            emperor.waitFor("the newcomer to wait for the state directory", CONVERGE,
                    () -> emperor.status("newcomer").map(s -> s.path("lastError").asText().startsWith(
                            "state directory full (" + stateDir + ")")).orElse(false),
                    () -> String.valueOf(emperor.status("newcomer")));
            assertThat(emperor.statusOf("newcomer").path("pid").asInt()).isZero();
            // Its public port must be recorded before it is given: it waits too, saying why.
            assertThat(emperor.statusOf("newcomer").path("ports")).isEmpty();
            assertThat(emperor.statusOf("newcomer").path("webProblems").toString()).contains("state directory full");

            // Known tenants do not wait for the disk: restarted, reloaded, removed.
            emperor.waitFor("the killed payload to be restarted", CONVERGE, () -> {
                int pid = emperor.status("keeper").map(s -> s.path("pid").asInt()).orElse(0);
                return pid != 0 && pid != keeperPid && emperor.statusOf("keeper").path("state").asText().equals("running");
            }, () -> String.valueOf(emperor.status("keeper")));
            emperor.waitFor("the changed file to be applied", CONVERGE, () -> {
                var out = EmperorProcess.readLines(emperor.runDirOf("changer").resolve("out"));
                return !out.isEmpty() && out.get(0).equals("after");
            }, () -> String.valueOf(emperor.status("changer")));
            assertThat(emperor.statusOf("changer").path("pid").asInt()).isNotEqualTo(changerPid);
            emperor.waitFor("the deleted tenant to be gone", CONVERGE,
                    () -> emperor.status("doomed").isEmpty() && !alive(doomedPid),
                    () -> emperor.status("doomed") + "\n" + emperor.daemonOutput());
            assertThat(emperor.command("status").out()).contains("state: state directory full");

            Files.delete(filler);

            waitUntilRunning(emperor, "newcomer");
            emperor.waitFor("the newcomer's public port", CONVERGE,
                    () -> emperor.statusOf("newcomer").path("ports").path(0).path("publicPort").asInt() > 0,
                    () -> String.valueOf(emperor.status("newcomer")));
            emperor.waitFor("the state line to clear", CONVERGE,
                    () -> !emperor.command("status").out().contains("state:"), () -> emperor.command("status").out());
            // The records kept in memory reached the database: the keeper's exit is in its history.
            assertThat(emperor.command("events", "keeper").out()).contains("killed by signal 9");
            assertThat(emperor.daemonOutput()).doesNotContain("no transaction is active")
                    .contains("state directory full (" + stateDir + ")");
        } finally {
            try {
                emperor.close();
            } finally {
                if (EmperorProcess.mountsAt(stateDir) > 0) run("/bin/umount", "-l", stateDir.toString());
            }
        }
    }

    /** Waits for a tenant to run, with its status in the failure message. */
    private static void waitUntilRunning(EmperorProcess emperor, String tenant) {
        emperor.waitFor(tenant + " to run", CONVERGE,
                () -> emperor.status(tenant).map(s -> s.path("state").asText().equals("running")).orElse(false),
                () -> String.valueOf(emperor.status(tenant)));
    }

    /** Fills the file system at dir to the last byte with one file. */
    private static Path fill(Path dir) throws IOException {
        Path filler = dir.resolve("filler");
        byte[] chunk = new byte[65536];
        try (OutputStream out = Files.newOutputStream(filler)) {
            while (true) out.write(chunk);
        } catch (IOException full) {
            assertThat(full.getMessage()).contains("No space left on device");
        }
        // the last partial chunk
        try (OutputStream out = Files.newOutputStream(filler, java.nio.file.StandardOpenOption.APPEND)) {
            while (true) out.write(0);
        } catch (IOException full) {
            assertThat(full.getMessage()).contains("No space left on device");
        }
        return filler;
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).inheritIO().start();
        assertThat(p.waitFor()).as(String.join(" ", command)).isZero();
    }
}
