package dev.emperor.tests;

import static dev.emperor.tests.EmperorProcess.SLEEPER;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** status-dir: NAME.json per vassal, the same JSON as `emperor status NAME --json`, kept up to date. */
class StatusDirTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private EmperorProcess emperor;

    @AfterEach
    void cleanUp() {
        if (emperor != null) emperor.close();
    }

    @Test
    void eachVassalHasItsStatusAsAFileThatFollowsItsState() throws IOException {
        emperor = new EmperorProcess().set("status-dir", "status");
        Path status = emperor.root().resolve("status");
        Files.createDirectories(emperor.vassalsDir());
        Files.createDirectories(status);
        Files.writeString(status.resolve("ghost.json"), "{\"state\": \"running\"}"); // a vassal that no longer exists
        Files.writeString(status.resolve("notes.txt"), "the panel's own file");
        emperor.start();
        emperor.vassal("alpha", SLEEPER, "distro = busybox");
        Path betaFile = emperor.vassal("beta", SLEEPER, "distro = busybox");
        int alphaPid = emperor.waitForRunning("alpha").path("pid").asInt();
        int betaPid = emperor.waitForRunning("beta").path("pid").asInt();

        JsonNode alpha = waitForFile(status.resolve("alpha.json"), "running", alphaPid);
        waitForFile(status.resolve("beta.json"), "running", betaPid);
        assertThat(alpha.path("version").asInt()).isEqualTo(1);
        assertThat(Instant.parse(alpha.path("updatedAt").asText())).isNotNull();
        // the same fields as `status --json` (one code path): everything it shows is in the file
        JsonNode shown = emperor.statusOf("alpha");
        List<String> fields = names(shown);
        assertThat(names(alpha)).containsAll(fields).contains("version", "updatedAt");
        assertThat(alpha.path("domains")).isEqualTo(shown.path("domains"));
        assertThat(alpha.path("uid")).isEqualTo(shown.path("uid"));
        // panels under other users read it; nobody but root writes it
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(status))).isEqualTo("rwxr-xr-x");
        // start-up removed the stale file of a vassal that is gone, and nothing else
        assertThat(status.resolve("ghost.json")).doesNotExist();
        assertThat(status.resolve("notes.txt")).exists();

        EmperorProcess.CliResult stop = emperor.command("stop", "alpha", "--wait", "30");
        assertThat(stop.code()).as("stop: %s", stop.err()).isZero();
        waitForFile(status.resolve("alpha.json"), "stopped", 0);

        EmperorProcess.CliResult text = emperor.command("status");
        assertThat(text.out()).contains("status-dir: ok");

        Files.delete(betaFile);
        emperor.waitFor("beta.json to be deleted", Duration.ofSeconds(30),
                () -> !Files.exists(status.resolve("beta.json")), this::listing);
        assertThat(status.resolve("alpha.json")).exists();
        try (Stream<Path> files = Files.list(status)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
        }
    }

    @Test
    void sighupMovesTheFilesToTheNewDirectoryAndLeavesTheOldOnes() throws IOException {
        emperor = new EmperorProcess().set("status-dir", "status").start();
        emperor.vassal("alpha", SLEEPER, "distro = busybox");
        int pid = emperor.waitForRunning("alpha").path("pid").asInt();
        Path first = emperor.root().resolve("status");
        waitForFile(first.resolve("alpha.json"), "running", pid);

        emperor.set("status-dir", "panel/status");
        emperor.reload();
        Path second = emperor.root().resolve("panel/status");
        waitForFile(second.resolve("alpha.json"), "running", pid);
        assertThat(first.resolve("alpha.json")).exists(); // left as it was: documented
    }

    @Test
    void aStatusDirThatCannotBeWrittenNeverStopsTenantsAndShowsInStatusUntilItWorks() throws IOException {
        Path blocker = emperor().root().resolve("blocker");
        Files.writeString(blocker, "a file where the status directory's parent should be");
        emperor.set("status-dir", "blocker/status").start();
        emperor.vassal("alpha", SLEEPER, "distro = busybox");
        int pid = emperor.waitForRunning("alpha").path("pid").asInt();
        emperor.waitFor("status to say status-dir is failing", Duration.ofSeconds(30),
                () -> emperor.command("status").out().contains("status-dir: failing: " + blocker.resolve("status")));
        assertThat(emperor.statusOf("alpha").path("pid").asInt()).isEqualTo(pid);

        Files.delete(blocker);
        Files.createDirectories(blocker.resolve("status"));
        waitForFile(blocker.resolve("status/alpha.json"), "running", pid); // retried without any change of alpha's
        emperor.waitFor("status-dir to be ok again", Duration.ofSeconds(30),
                () -> emperor.command("status").out().contains("status-dir: ok"));
    }

    private EmperorProcess emperor() {
        if (emperor == null) emperor = new EmperorProcess();
        return emperor;
    }

    private JsonNode waitForFile(Path file, String state, int pid) {
        JsonNode[] last = new JsonNode[1];
        emperor.waitFor(file.getFileName() + " to show " + state + " pid " + pid, Duration.ofSeconds(30), () -> {
            last[0] = read(file);
            return last[0] != null && state.equals(last[0].path("state").asText()) && last[0].path("pid").asInt() == pid;
        }, () -> "last content: " + last[0] + "; " + listing());
        return last[0];
    }

    /** The file, or null when absent. A file that exists is always whole JSON (written by rename). */
    private static JsonNode read(Path file) {
        if (!Files.exists(file)) return null;
        try {
            return JSON.readTree(Files.readString(file));
        } catch (java.nio.file.NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new AssertionError(file + " is not whole JSON", e);
        }
    }

    private static List<String> names(JsonNode node) {
        List<String> names = new java.util.ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private String listing() {
        try (Stream<Path> files = Files.list(emperor.root().resolve("status"))) {
            return "status dir: " + files.map(p -> p.getFileName().toString()).toList();
        } catch (IOException e) {
            return "status dir: " + e;
        }
    }
}
