package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The log directory turns read-only under running tenants (issue 21: a reload then killed the
 * tenant, which stayed down with an empty lastError). The tenant must keep running across a
 * reload; its lines that cannot be written are dropped, counted, and status says why.
 */
class ReadOnlyLogDirectoryTest {
    private static final Duration CONVERGE = Duration.ofSeconds(60);

    @Test
    void aReloadWithAReadOnlyLogDirectoryKeepsTheTenantRunningAndSaysWhy() throws Exception {
        EmperorProcess emperor = new EmperorProcess();
        Path logDir = emperor.root().resolve("log");
        try {
            emperor.start();
            emperor.vassal("talker", "distro = busybox",
                    "exec = sh -c \"echo $$ >> /run/spawns; while true; do echo tick; sleep 0.2; done\"");
            int before = emperor.waitForRunning("talker").path("pid").asInt();
            emperor.waitFor("the tenant's lines in its log", CONVERGE,
                    () -> EmperorProcess.readLines(emperor.logOf("talker")).stream().anyMatch(l -> l.endsWith("tick")));

            // A read-only bind mount over the log directory: new opens there fail with EROFS.
            run("/bin/mount", "--bind", logDir.toString(), logDir.toString());
            run("/bin/mount", "-o", "remount,ro,bind", logDir.toString());

            assertThat(emperor.command("reload", "talker").code()).isZero();
            emperor.waitFor("the reloaded tenant to run again", CONVERGE, () -> {
                JsonNode s = emperor.statusOf("talker");
                return s.path("state").asText().equals("running") && s.path("pid").asInt() != before;
            }, () -> String.valueOf(emperor.status("talker")) + "\n" + emperor.daemonOutput());
            // The open log file is kept: the new payload's lines still reach it.
            int spawns = emperor.spawnCount("talker");
            long lines = EmperorProcess.readLines(emperor.logOf("talker")).size();
            emperor.waitFor("the reloaded payload's lines in the log", CONVERGE,
                    () -> EmperorProcess.readLines(emperor.logOf("talker")).size() > lines + 5,
                    () -> String.valueOf(emperor.status("talker")));
            JsonNode talker = emperor.statusOf("talker");
            assertThat(talker.path("state").asText()).isEqualTo("running");
            assertThat(talker.path("lastError").isNull()).isTrue();
            assertThat(emperor.spawnCount("talker")).as("no respawn: the log is no reason to stop").isEqualTo(spawns);

            // A tenant whose log was never open: it runs; its lines are dropped, counted, and said.
            emperor.vassal("newcomer", "distro = busybox",
                    "exec = sh -c \"while true; do echo hello; sleep 0.2; done\"");
            emperor.waitForRunning("newcomer");
            emperor.waitFor("status to name the log problem", CONVERGE, () -> {
                JsonNode s = emperor.statusOf("newcomer");
                return s.path("logProblem").asText("").startsWith("log directory read-only (" + logDir + ")")
                        && s.path("logLinesDropped").asLong() > 0;
            }, () -> String.valueOf(emperor.status("newcomer")) + "\n" + emperor.daemonOutput());
            assertThat(emperor.command("status", "newcomer").out()).contains("log directory read-only");
            assertThat(emperor.statusOf("newcomer").path("state").asText()).isEqualTo("running");

            // Writable again: lines reach the file again, with a note of what was lost.
            run("/bin/umount", logDir.toString());
            emperor.waitFor("the log problem to clear", CONVERGE,
                    () -> emperor.statusOf("newcomer").path("logProblem").isNull(),
                    () -> String.valueOf(emperor.status("newcomer")));
            emperor.waitFor("the note of dropped lines", CONVERGE, () -> EmperorProcess.readLines(emperor.logOf("newcomer"))
                    .stream().anyMatch(l -> l.contains("lines dropped while the log could not be written")));
        } finally {
            try {
                if (EmperorProcess.mountsAt(logDir) > 0) run("/bin/umount", "-l", logDir.toString());
            } finally {
                emperor.close();
            }
        }
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).inheritIO().start();
        assertThat(p.waitFor()).as(String.join(" ", command)).isZero();
    }
}
