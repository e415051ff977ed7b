package dev.emperor.tests;

import static dev.emperor.tests.EmperorProcess.SLEEPER;
import static dev.emperor.tests.EmperorProcess.alive;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The vassal directory is the interface: files appearing, changing and vanishing drive tenants. */
class VassalFileLifecycleTest {
    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().build();
    private final EmperorProcess emperor = fixture.process();

    @Test
    void newFileStartsTenantAsItsOwnHostnameAndUnprivilegedUid() {
        emperor.vassal("alpha", SLEEPER, "distro = busybox", "hostname = alpha-box");

        JsonNode status = emperor.waitForRunning("alpha");
        Path out = emperor.runDirOf("alpha").resolve("out");
        emperor.waitFor("the payload to write " + out, Duration.ofSeconds(10),
                () -> EmperorProcess.readLines(out).size() >= 2);

        List<String> lines = EmperorProcess.readLines(out);
        assertThat(lines.get(0)).isEqualTo("alpha-box");
        int uid = Integer.parseInt(lines.get(1).trim());
        assertThat(uid).isBetween(200000, 200999).isEqualTo(status.path("uid").asInt());
        int pid = status.path("pid").asInt();
        assertThat(alive(pid)).as("pid 1 of the tenant is alive on the host").isTrue();
        assertThat(EmperorProcess.pidNamespace(pid)).as("the tenant has its own pid namespace")
                .isNotEqualTo(EmperorProcess.pidNamespace((int) ProcessHandle.current().pid()));
        assertThat(status.path("distro").asText()).isEqualTo("busybox");
        assertThat(emperor.spawnCount("alpha")).isEqualTo(1);
    }

    @Test
    void changedContentReloadsTheTenantWithANewPid() {
        emperor.vassal("alpha", SLEEPER, "distro = busybox", "hostname = before");
        int before = emperor.waitForRunning("alpha").path("pid").asInt();
        emperor.waitFor("the first spawn", Duration.ofSeconds(10), () -> emperor.spawnCount("alpha") == 1);

        emperor.vassal("alpha", SLEEPER, "distro = busybox", "hostname = after");

        emperor.waitFor("a new pid", Duration.ofSeconds(30), () -> {
            JsonNode s = emperor.statusOf("alpha");
            return s.path("state").asText().equals("running") && s.path("pid").asInt() != before;
        });
        emperor.waitFor("the new payload to write its hostname", Duration.ofSeconds(10), () -> {
            List<String> out = EmperorProcess.readLines(emperor.runDirOf("alpha").resolve("out"));
            return !out.isEmpty() && out.get(0).equals("after");
        });
        assertThat(alive(before)).as("the old payload is gone").isFalse();
        assertThat(emperor.spawnCount("alpha")).isEqualTo(2);
        assertThat(emperor.statusOf("alpha").path("restarts").asInt())
                .as("a reload is not a crash").isZero();
    }

    @Test
    void touchingOrRewritingTheSameContentDoesNotReload() throws Exception {
        Path file = emperor.vassal("alpha", SLEEPER, "distro = busybox");
        int pid = emperor.waitForRunning("alpha").path("pid").asInt();
        String content = Files.readString(file);

        Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(5)));
        EmperorProcess.write(file, content); // in place: truncate + write, same bytes
        EmperorProcess.writeAtomically(file, content); // and by rename
        EmperorProcess.sleep(Duration.ofSeconds(4)); // several rescans (rescan = 1s)

        JsonNode after = emperor.statusOf("alpha");
        assertThat(after.path("pid").asInt()).isEqualTo(pid);
        assertThat(after.path("state").asText()).isEqualTo("running");
        assertThat(emperor.spawnCount("alpha")).isEqualTo(1);
    }

    @Test
    void deletedFileStopsTheTenantAndRemovesItFromStatus() throws Exception {
        Path file = emperor.vassal("alpha", SLEEPER, "distro = busybox");
        emperor.vassal("beta", SLEEPER, "distro = busybox");
        int pid = emperor.waitForRunning("alpha").path("pid").asInt();
        int betaPid = emperor.waitForRunning("beta").path("pid").asInt();

        Files.delete(file);

        emperor.waitFor("alpha to vanish from status", Duration.ofSeconds(30),
                () -> emperor.status("alpha").isEmpty());
        emperor.waitFor("alpha's pid 1 to be gone", Duration.ofSeconds(10), () -> !alive(pid));
        assertThat(emperor.processesOf("alpha")).as("no process left in alpha's cgroup").isEmpty();
        assertThat(emperor.cgroupDirsOf("alpha")).as("alpha's cgroup directories").isEmpty();
        assertThat(emperor.statusOf("beta").path("pid").asInt()).as("beta untouched").isEqualTo(betaPid);
    }

    @Test
    void fileWrittenToATemporaryNameThenRenamedIsSeenOnce() throws Exception {
        // A slow writer: the temporary file grows over a second, through several rescans' worth
        // of inotify events, before the rename publishes it.
        Path tmp = emperor.vassalsDir().resolve(".alpha.ini.partial");
        EmperorProcess.write(tmp, "[vassal]\n");
        EmperorProcess.sleep(Duration.ofMillis(600));
        Files.writeString(tmp, "distro = busybox\n", java.nio.file.StandardOpenOption.APPEND);
        EmperorProcess.sleep(Duration.ofMillis(600));
        Files.writeString(tmp, SLEEPER + "\n", java.nio.file.StandardOpenOption.APPEND);
        assertThat(emperor.status("alpha")).as("a temporary name is not a tenant").isEmpty();

        Files.move(tmp, emperor.vassalsDir().resolve("alpha.ini"), java.nio.file.StandardCopyOption.ATOMIC_MOVE);

        int pid = emperor.waitForRunning("alpha").path("pid").asInt();
        EmperorProcess.sleep(Duration.ofSeconds(3));
        JsonNode after = emperor.statusOf("alpha");
        assertThat(after.path("pid").asInt()).isEqualTo(pid);
        assertThat(after.path("restarts").asInt()).isZero();
        assertThat(emperor.spawnCount("alpha")).as("spawned exactly once").isEqualTo(1);

        // Replacing it the same way is one reload, not two.
        emperor.vassal("alpha", SLEEPER, "distro = busybox", "hostname = second");
        emperor.waitFor("the reload", Duration.ofSeconds(30), () -> emperor.spawnCount("alpha") == 2);
        EmperorProcess.sleep(Duration.ofSeconds(3));
        assertThat(emperor.spawnCount("alpha")).as("one reload per rename").isEqualTo(2);
        assertThat(emperor.statusOf("alpha").path("state").asText()).isEqualTo("running");
    }
}
