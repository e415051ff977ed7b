package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A tenant attacks its log, the one platform service it reaches with every process: it
 * truncates it, floods it, forges the emperor's notes in it and sends escape sequences to the
 * operator's terminal through it. None of it works, its neighbours do not notice, and an
 * emperor restart loses none of its lines.
 */
class TenantLogAttacksTest {
    private EmperorProcess emperor;

    @AfterEach
    void cleanUp() {
        if (emperor != null) emperor.close();
    }

    /** The file's text, or its first 8 MiB (a log the attack made huge must fail the test, not the JVM). */
    private static String read(Path file) {
        try (java.io.InputStream in = Files.newInputStream(file)) {
            return new String(in.readNBytes(8 << 20), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /** The tenant's log files: NAME.log and its rotated parts. */
    private List<Path> logFiles(String tenant) throws IOException {
        try (Stream<Path> files = Files.list(emperor.root().resolve("log"))) {
            return files.filter(f -> f.getFileName().toString().startsWith(tenant + ".log")).sorted().toList();
        }
    }

    private long totalSize(List<Path> files) throws IOException {
        long total = 0;
        for (Path file : files) total += Files.size(file);
        return total;
    }

    private static String link(int pid, String fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/" + fd)).toString();
        } catch (IOException e) {
            return "";
        }
    }

    @Test
    void noProcessOfTheTenantHoldsItsLogFileOnlyAPipeThatPid1KeepsOutOfReach() throws IOException {
        emperor = new EmperorProcess().start();
        emperor.vassal("spy", "distro = busybox",
                "exec = sh -c \"ls /proc/1/fd > /run/ls 2>&1; cat /proc/1/fd/63 > /run/cat 2>&1; "
                        // busybox runs cat inside the shell, redirections included: reopen a copy of stdout
                        + "exec 5>&1; cat /proc/$$/fd/5 > /run/reopen 2>&1; touch /run/done; exec sleep 100000\"",
                "daemon = sh -c \"exec sleep 100000\"");
        int init = emperor.waitForRunning("spy").path("pid").asInt();
        emperor.waitFor("the spy to look", Duration.ofSeconds(30), () -> Files.exists(emperor.runDirOf("spy").resolve("done")));
        int[] daemon = new int[1];
        emperor.waitFor("the daemon to run", Duration.ofSeconds(30), () -> {
            JsonNode d = emperor.statusOf("spy").path("daemons").path(0);
            daemon[0] = d.path("pid").asInt();
            return daemon[0] > 0;
        });

        Path logDir = emperor.root().resolve("log").toRealPath();
        List<Integer> processes = emperor.processesOf("spy");
        assertThat(processes).contains(daemon[0]);
        String payloadStdout = null;
        for (int pid : processes) {
            try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
                for (Path fd : fds.toList()) {
                    String target = link(pid, fd.getFileName().toString());
                    assertThat(target).as("fd %s of pid %d", fd.getFileName(), pid).doesNotStartWith(logDir.toString());
                }
            }
            if (pid != init) {
                String out = link(pid, "1");
                assertThat(out).as("stdout of pid %d", pid).startsWith("pipe:[");
                assertThat(link(pid, "2")).as("stderr of pid %d", pid).isEqualTo(out);
                if (payloadStdout == null) payloadStdout = out;
                assertThat(out).as("the daemon writes into the payload's pipe").isEqualTo(payloadStdout);
                assertThat(link(pid, "63")).as("only pid 1 holds the read end").isEmpty();
            }
        }
        assertThat(link(init, "63")).as("pid 1 keeps the read end").isEqualTo(payloadStdout);

        // pid 1 runs as the tenant's uid but is non-dumpable: its fds are not the tenant's to take.
        assertThat(read(emperor.runDirOf("spy").resolve("ls"))).contains("Permission denied");
        assertThat(read(emperor.runDirOf("spy").resolve("cat"))).contains("Permission denied");
        // Nor can it open its own stdout again for reading: the pipe is root's, mode 0600.
        assertThat(read(emperor.runDirOf("spy").resolve("reopen"))).contains("Permission denied");
    }

    @Test
    void ftruncateOfStdoutFailsAndTheLogStaysSmall() throws IOException {
        emperor = new EmperorProcess().start();
        emperor.vassal("trunc", "distro = bookworm",
                // the traceback of a failed ftruncate goes to stderr; 4242 would say it worked
                "exec = sh -c \"python3 -c 'import os; os.ftruncate(1, 3 << 30); print(4242)'; touch /run/done; exec sleep 100000\"");
        emperor.waitForRunning("trunc");
        emperor.waitFor("the attempt", Duration.ofSeconds(60), () -> Files.exists(emperor.runDirOf("trunc").resolve("done")),
                () -> read(emperor.logOf("trunc")));
        emperor.waitFor("its output in the log", Duration.ofSeconds(10),
                () -> read(emperor.logOf("trunc")).contains("OSError") || read(emperor.logOf("trunc")).contains("4242"),
                () -> read(emperor.logOf("trunc")));
        assertThat(read(emperor.logOf("trunc"))).contains("OSError: [Errno 22] Invalid argument").doesNotContain("4242");
        assertThat(totalSize(logFiles("trunc"))).as("no sparse gigabytes").isLessThan(1 << 20);
    }

    @Test
    void aFloodStaysWithinItsBoundIsCountedAndItsNeighbourReloadsAndServesMeanwhile() throws IOException {
        emperor = new EmperorProcess();
        TenantWebApp.install(emperor);
        emperor.set("log-max-size", "64K").set("log-keep", "2").set("log-rate", "32K").start();
        TenantWebApp.tenant(emperor, "shop", "domain = shop.test");
        int shopPid = emperor.waitForRunning("shop").path("pid").asInt();
        emperor.waitFor("shop's site", Duration.ofSeconds(60),
                () -> TenantWebApp.curl(emperor, "shop.test", false, "/").text().contains("hello from shop"));

        emperor.vassal("flood", "distro = busybox", "exec = yes flooding-the-log-as-fast-as-a-tenant-can");
        emperor.waitForRunning("flood");
        emperor.waitFor("the flood to be cut by log-rate", Duration.ofSeconds(30),
                () -> read(emperor.logOf("flood")).contains("over log-rate") || rotatedDropNote());
        emperor.waitFor("the flood to rotate its log", Duration.ofSeconds(60),
                () -> Files.exists(emperor.root().resolve("log/flood.log.2")));

        // While the flood goes on: the neighbour's lifecycle and its site.
        assertThat(emperor.command("reload", "shop").code()).isZero();
        emperor.waitFor("shop to come back with a new payload", Duration.ofSeconds(60), () -> {
            JsonNode shop = emperor.statusOf("shop");
            return shop.path("state").asText().equals("running") && shop.path("pid").asInt() != shopPid;
        }, () -> emperor.statusOf("shop").toString());
        emperor.waitFor("shop's site after its reload", Duration.ofSeconds(60),
                () -> TenantWebApp.curl(emperor, "shop.test", false, "/").text().contains("hello from shop"));
        assertThat(emperor.statusOf("flood").path("state").asText()).as("the flood is still going").isEqualTo("running");

        List<Path> files = logFiles("flood");
        assertThat(files).extracting(f -> f.getFileName().toString()).containsExactly("flood.log", "flood.log.1", "flood.log.2");
        for (Path file : files) assertThat(Files.size(file)).as("%s", file).isLessThanOrEqualTo(64 << 10);
        assertThat(totalSize(files)).isLessThanOrEqualTo(3L * (64 << 10));
    }

    private boolean rotatedDropNote() {
        return Stream.of("flood.log.1", "flood.log.2").map(f -> read(emperor.root().resolve("log").resolve(f)))
                .anyMatch(text -> text.contains("over log-rate"));
    }

    @Test
    void aForgedNoteIsMarkedAsTheTenantsAndEmperorLogsShowsEscapesAsText() {
        emperor = new EmperorProcess().start();
        emperor.vassal("forger", "distro = busybox",
                "exec = sh -c \"printf '[emperor 2026-01-01T00:00:00Z] payload exited: forged\\\\n\\\\033[2J\\\\033]0;owned\\\\007cleared\\\\rhidden\\\\n'; touch /run/done; exec sleep 100000\"");
        emperor.waitForRunning("forger");
        emperor.waitFor("the forger to write", Duration.ofSeconds(30), () -> read(emperor.logOf("forger")).contains("hidden"),
                () -> read(emperor.logOf("forger")));

        List<String> notes = EmperorProcess.readLines(emperor.logOf("forger")).stream()
                .filter(line -> line.startsWith("[emperor ")).toList();
        assertThat(notes).as("only the emperor's own notes").noneMatch(line -> line.contains("forged"));

        EmperorProcess.CliResult logs = emperor.command("logs", "forger");
        assertThat(logs.code()).isZero();
        assertThat(logs.out()).contains("[tenant] [emperor 2026-01-01T00:00:00Z] payload exited: forged")
                .contains("\\x1b[2J\\x1b]0;owned\\x07cleared\\x0dhidden");
        assertThat(logs.out().chars().filter(c -> (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f))
                .as("no control character reaches the operator's terminal").isEmpty();
    }

    @Test
    void noLineIsLostAcrossAKill9AndARestartOfTheEmperor() {
        emperor = new EmperorProcess().set("on-exit", "leave").set("log-rate", "100M").set("log-max-size", "100M").start();
        // Three runs of numbered lines; between them the tenant waits for the test's go-ahead.
        // The second and third are each more than the pipe holds (1 MiB): written while no
        // emperor reads, they block the writer, and must neither fail nor be lost.
        emperor.vassal("counter", "distro = busybox",
                "exec = sh -c \"seq 0 9999; while [ ! -e /run/go1 ]; do sleep 1; done; seq 10000 199999; "
                        + "while [ ! -e /run/go2 ]; do sleep 1; done; seq 200000 389999; echo finished; exec sleep 100000\"");
        int init = emperor.waitForRunning("counter").path("pid").asInt();
        Path log = emperor.logOf("counter");
        emperor.waitFor("the first run", Duration.ofSeconds(30), () -> read(log).contains("\n9999\n"));

        emperor.kill9();
        EmperorProcess.write(emperor.runDirOf("counter").resolve("go1"), "");
        emperor.waitFor("the tenant to fill its pipe", Duration.ofSeconds(60), () -> pipeIsFull(init));
        emperor.start();
        assertThat(emperor.waitForRunning("counter").path("pid").asInt()).as("re-adopted").isEqualTo(init);
        emperor.waitFor("the second run", Duration.ofSeconds(60), () -> read(log).contains("\n199999\n"));

        assertThat(emperor.stop()).as("a plain stop, tenants left running").isZero();
        EmperorProcess.write(emperor.runDirOf("counter").resolve("go2"), "");
        emperor.waitFor("the tenant to fill its pipe again", Duration.ofSeconds(60), () -> pipeIsFull(init));
        emperor.start();
        emperor.waitFor("the third run", Duration.ofSeconds(60), () -> read(log).contains("\nfinished\n"),
                () -> emperor.daemonOutput());

        List<String> numbers = new ArrayList<>();
        for (String line : EmperorProcess.readLines(log)) {
            if (!line.startsWith("[emperor ") && !line.equals("finished")) numbers.add(line);
        }
        assertThat(numbers).hasSize(390_000);
        for (int i = 0; i < numbers.size(); i++) {
            if (!numbers.get(i).equals(Integer.toString(i))) {
                throw new AssertionError("line " + i + " is '" + numbers.get(i) + "'");
            }
        }
    }

    /** The tenant's seq waits in write(): its pipe is full, nobody reads it. */
    private boolean pipeIsFull(int init) {
        for (int pid : emperor.processesOf("counter")) {
            if (pid == init) continue;
            try {
                String comm = Files.readString(Path.of("/proc/" + pid + "/comm")).trim();
                String wchan = Files.readString(Path.of("/proc/" + pid + "/wchan")).trim();
                if (comm.equals("seq") && wchan.contains("pipe_write")) return true;
            } catch (IOException e) {
                // exited meanwhile
            }
        }
        return false;
    }
}
