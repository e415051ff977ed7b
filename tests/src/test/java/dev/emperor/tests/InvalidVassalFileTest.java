package dev.emperor.tests;

import static dev.emperor.tests.EmperorProcess.SLEEPER;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A broken vassal file is reported by file, line and key, and disturbs nobody else. */
class InvalidVassalFileTest {
    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().build();
    private final EmperorProcess emperor = fixture.process();

    @Test
    void unknownKeyFailsThatTenantOnlyAndFixingTheFileBringsItUp() {
        emperor.vassal("good", SLEEPER, "distro = busybox");
        int goodPid = emperor.waitForRunning("good").path("pid").asInt();

        // line 1 is [vassal]; the unknown key is on line 3
        emperor.vassal("bad", SLEEPER, "colour = blue", "distro = busybox");

        JsonNode bad = emperor.waitForState("bad", "failed", Duration.ofSeconds(20));
        assertThat(bad.path("lastError").asText()).contains("bad.ini:3").contains("colour");
        assertThat(bad.path("pid").asInt()).isZero();
        assertThat(emperor.statusOf("good").path("pid").asInt()).isEqualTo(goodPid);

        emperor.vassal("bad", SLEEPER, "distro = busybox");
        JsonNode fixed = emperor.waitForRunning("bad");
        assertThat(fixed.path("lastError").isNull() || fixed.path("lastError").asText().isEmpty()).isTrue();
        assertThat(emperor.statusOf("good").path("pid").asInt()).isEqualTo(goodPid);
    }

    @Test
    void badMemoryValueIsReportedWithItsLineAndKey() {
        emperor.vassal("good", SLEEPER, "distro = busybox");
        int goodPid = emperor.waitForRunning("good").path("pid").asInt();

        emperor.vassal("hungry", SLEEPER, "distro = busybox", "memory = lots");

        JsonNode bad = emperor.waitForState("hungry", "failed", Duration.ofSeconds(20));
        assertThat(bad.path("lastError").asText()).contains("hungry.ini:4").contains("memory");
        assertThat(emperor.statusOf("good").path("pid").asInt()).isEqualTo(goodPid);

        emperor.vassal("hungry", SLEEPER, "distro = busybox", "memory = 64M");
        emperor.waitForRunning("hungry");
    }

    @Test
    void iniAndJsonForTheSameNameAreAConflict() throws Exception {
        emperor.vassal("good", SLEEPER, "distro = busybox");
        emperor.vassal("twin", SLEEPER, "distro = busybox");
        int goodPid = emperor.waitForRunning("good").path("pid").asInt();
        int twinPid = emperor.waitForRunning("twin").path("pid").asInt();
        Path json = emperor.vassalsDir().resolve("twin.json");

        // A running tenant whose name becomes ambiguous keeps its last good configuration,
        // and says why it ignores the files.
        EmperorProcess.writeAtomically(json, "{\"exec\": \"sleep 100000\", \"distro\": \"busybox\"}\n");
        emperor.waitFor("the conflict to be reported", Duration.ofSeconds(20),
                () -> emperor.statusOf("twin").path("lastError").asText().contains("twin.json"));
        JsonNode twin = emperor.statusOf("twin");
        assertThat(twin.path("lastError").asText()).contains("twin.ini").contains("twin.json");
        assertThat(twin.path("pid").asInt()).isEqualTo(twinPid);
        assertThat(emperor.statusOf("good").path("pid").asInt()).isEqualTo(goodPid);

        // Found at start-up, the conflict leaves the tenant failed.
        emperor.stop();
        emperor.start();
        twin = emperor.waitForState("twin", "failed", Duration.ofSeconds(20));
        assertThat(twin.path("lastError").asText()).contains("twin.ini").contains("twin.json");
        assertThat(twin.path("pid").asInt()).isZero();
        emperor.waitForRunning("good");

        Files.delete(emperor.vassalsDir().resolve("twin.ini"));
        JsonNode resolved = emperor.waitForRunning("twin");
        assertThat(resolved.path("lastError").isNull() || resolved.path("lastError").asText().isEmpty()).isTrue();
    }

    @Test
    void jsonVassalFileRuns() {
        EmperorProcess.writeAtomically(emperor.vassalsDir().resolve("jay.json"),
                "{\"exec\": \"sh -c 'echo $$ >> /run/spawns; exec sleep 100000'\", \"distro\": \"busybox\","
                        + " \"env\": [\"A=1\", \"B=2\"]}\n");
        emperor.waitForRunning("jay");
        emperor.waitFor("the payload to start", Duration.ofSeconds(10), () -> emperor.spawnCount("jay") == 1);
    }

    @Test
    void checkCommandNamesFileLineAndKey() {
        Path good = emperor.vassal("good", SLEEPER, "distro = busybox");
        Path bad = emperor.vassal("bad", SLEEPER, "distro = busybox", "memory = lots");

        EmperorProcess.CliResult ok = emperor.command("check", good.toString());
        assertThat(ok.code()).as("check of a good file: %s %s", ok.out(), ok.err()).isZero();

        EmperorProcess.CliResult broken = emperor.command("check", good.toString(), bad.toString());
        assertThat(broken.code()).isEqualTo(1);
        assertThat(broken.out() + broken.err()).contains(bad + ":4: memory:");
    }
    @Test
    void aFifoOrALinkToADeviceIsRefusedByNameAndLaterFilesAreStillRead() throws Exception {
        emperor.vassal("good", SLEEPER, "distro = busybox");
        emperor.waitForRunning("good");
        // A FIFO blocked the watcher in open() and a link to /dev/zero read until the heap was gone.
        Path fifo = emperor.vassalsDir().resolve("pipe.ini");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor()).isZero();
        Files.createSymbolicLink(emperor.vassalsDir().resolve("zero.ini"), Path.of("/dev/zero"));
        JsonNode pipe = emperor.waitForState("pipe", "failed", Duration.ofSeconds(30));
        assertThat(pipe.path("lastError").asText()).contains("pipe.ini").contains("not a regular file");
        JsonNode zero = emperor.waitForState("zero", "failed", Duration.ofSeconds(30));
        assertThat(zero.path("lastError").asText()).contains("zero.ini").contains("symbolic link");

        // the watcher still reads files written after them
        emperor.vassal("later", SLEEPER, "distro = busybox");
        emperor.waitForRunning("later");
        EmperorProcess.CliResult table = emperor.command("status");
        assertThat(table.out()).doesNotContain("vassal directory watcher:");

        // `emperor check` on them answers at once instead of hanging
        EmperorProcess.CliResult check = EmperorProcess.cli("check", fifo.toString(),
                emperor.vassalsDir().resolve("zero.ini").toString());
        assertThat(check.code()).isEqualTo(1);
        assertThat(check.out() + check.err()).contains("not a regular file").contains("symbolic link");
    }

    @Test
    void aFileNameWithANewlineCannotForgeALineOfTheEmperorsLog() throws Exception {
        Files.writeString(emperor.vassalsDir().resolve("x\nFORGED emperor line.ini"), "[vassal]\n");
        emperor.waitFor("the bad name to be logged", Duration.ofSeconds(30),
                () -> emperor.daemonOutput().contains("ignoring vassal file"));
        String output = emperor.daemonOutput();
        assertThat(output).contains("x\\x0aFORGED emperor line.ini");
        assertThat(output.lines()).noneMatch(line -> line.startsWith("FORGED"));
    }
    @Test
    void aBindTargetMissingFromTheDistroIsRefusedByCheckAndTheDaemonByLine() throws Exception {
        // `check` passed this, then the tenant failed at every spawn with no error shown
        Path file = emperor.vassal("binder", SLEEPER, "distro = busybox", "bind = /etc/hostname:/srv/hostname");
        JsonNode binder = emperor.waitForState("binder", "failed", Duration.ofSeconds(20));
        assertThat(binder.path("lastError").asText()).contains("binder.ini:4").contains("/srv/hostname")
                .contains("does not exist in distro 'busybox'");
        EmperorProcess.CliResult check = emperor.command("check", file.toString());
        assertThat(check.code()).isEqualTo(1);
        assertThat(check.out()).contains("binder.ini:4: bind: bind target /srv/hostname does not exist");
    }
}
