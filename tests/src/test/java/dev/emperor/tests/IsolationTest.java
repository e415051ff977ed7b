package dev.emperor.tests;

import static dev.emperor.tests.EmperorProcess.SLEEPER;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Hostile tenants: each tries to see, reach, starve or escape to its neighbour and the host.
 * The probe (probe/probe.py with its system-call half probe/probe.c) runs as an ordinary
 * payload and reports every attempt; every one must be blocked, with the expected error.
 */
class IsolationTest {
    private static final Path PROBE_SOURCES = EmperorProcess.REPO.resolve("tests/src/test/java/dev/emperor/tests/probe");
    private static final Pattern ATTEMPT = Pattern.compile("ATTEMPT ([a-z0-9-]+): (ALLOWED.*|blocked \\(([A-Z-]+)\\).*)");

    /** Every attempt the probe makes, and the outcomes that count as blocked. */
    private static final Map<String, Set<String>> EXPECTED = new LinkedHashMap<>();

    static {
        expect("signal-host-pid", "ESRCH");
        expect("signal-other-tenant-pid", "ESRCH");
        expect("proc-lists-others", "ENOENT");
        expect("ptrace-outside", "ESRCH");
        expect("ptrace-pid1", "EPERM");
        expect("read-other-home", "ENOENT");
        expect("write-other-home", "ENOENT", "EROFS", "EACCES");
        expect("read-other-home-by-host-path", "ENOENT");
        expect("read-other-tmp", "ENOENT");
        expect("read-other-run", "ENOENT");
        expect("read-other-run-by-host-path", "ENOENT");
        expect("connect-other-socket-path", "ENOENT");
        expect("connect-other-socket-host-path", "ENOENT");
        expect("connect-other-abstract-socket", "ECONNREFUSED");
        expect("shm-other-key", "ENOENT");
        expect("connect-emperor-control-socket", "ENOENT");
        expect("stat-emperor-control-socket", "ENOENT");
        expect("mount", "EPERM");
        expect("write-root", "EROFS");
        expect("write-usr", "EROFS", "EACCES");
        expect("init-module", "EPERM");
        expect("write-proc-sys-kernel-hostname", "EROFS", "EACCES");
        // ENOENT: a kernel built without CONFIG_MAGIC_SYSRQ (like this test machine's) has no such file
        expect("write-sysrq-trigger", "EROFS", "EACCES", "MASKED", "ENOENT");
        expect("mknod", "EPERM");
        expect("setuid-root-binary", "NOSUID");
        expect("unshare-user", "EPERM");
        expect("keyctl", "EPERM");
        expect("bpf", "EPERM");
        expect("tiocsti", "EPERM");
        expect("sethostname", "EPERM");
        expect("capabilities", "NONE");
        expect("inherited-fds", "ONLY-STDIO");
        expect("io-uring-setup", "EPERM");
        expect("io-uring-enter", "EPERM");
        expect("io-uring-register", "EPERM");
        expect("socket-vsock", "EAFNOSUPPORT");
        expect("socket-vsock-dgram", "EAFNOSUPPORT");
        expect("socket-alg", "EAFNOSUPPORT");
        expect("socket-tipc", "EAFNOSUPPORT");
        expect("socket-packet", "EAFNOSUPPORT");
        expect("host-paths-in-pid1", "NONE");
    }

    private static void expect(String attempt, String... errors) {
        EXPECTED.put(attempt, Set.of(errors));
    }

    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().build();
    private final EmperorProcess emperor = fixture.process();
    private Path probeDir;

    @BeforeEach
    void buildProbes() throws Exception {
        probeDir = emperor.root().resolve("probe");
        Files.createDirectories(probeDir);
        for (String script : List.of("probe.py", "forkbomb.py")) {
            Files.copy(PROBE_SOURCES.resolve(script), probeDir.resolve(script));
        }
        Path binary = probeDir.resolve("probe");
        run("gcc", "-static", "-O2", "-o", binary.toString(), PROBE_SOURCES.resolve("probe.c").toString());
        // A root-owned setuid copy: if the jail let it work, it would print euid 0.
        Path setuid = probeDir.resolve("probe-setuid");
        Files.copy(binary, setuid);
        run("chmod", "4755", setuid.toString()); // (java.nio cannot set the setuid bit)
        Files.setPosixFilePermissions(probeDir, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as("%s: %s", String.join(" ", cmd), out).isZero();
    }

    private String probeBind() {
        return "bind = " + probeDir + ":/srv:ro";
    }

    @Test
    void neighboursCannotSeeOrReachEachOtherOrTheHost() throws Exception {
        emperor.vassal("red", "exec = python3 /srv/probe.py red blue 0x52454400 0x424c5500", "distro = bookworm",
                probeBind());
        emperor.vassal("blue", "exec = python3 /srv/probe.py blue red 0x424c5500 0x52454400", "distro = bookworm",
                probeBind());
        Map<String, Integer> pids = new LinkedHashMap<>();
        for (String t : List.of("red", "blue")) {
            pids.put(t, emperor.waitForRunning(t).path("pid").asInt());
            emperor.waitFor(t + " to be ready", Duration.ofSeconds(30),
                    () -> Files.exists(emperor.runDirOf(t).resolve("ready")),
                    () -> "log: " + EmperorProcess.readLines(emperor.logOf(t)));
        }
        aim("red", "blue", pids.get("blue"));
        aim("blue", "red", pids.get("red"));

        List<String> problems = new ArrayList<>();
        for (String t : List.of("red", "blue")) {
            Path results = emperor.runDirOf(t).resolve("results");
            emperor.waitFor(t + "'s probe results", Duration.ofSeconds(60), () -> Files.exists(results),
                    () -> "log: " + EmperorProcess.readLines(emperor.logOf(t)));
            List<String> lines = EmperorProcess.readLines(results);
            System.out.println("---- probe results of " + t + " ----\n" + String.join("\n", lines));
            problems.addAll(judge(t, lines));
            assertThat(lines).as("the probe ran to the end").anyMatch(l -> l.startsWith("DONE uid="));
            String uid = String.valueOf(emperor.statusOf(t).path("uid").asInt());
            assertThat(lines).contains("DONE uid=" + uid);
        }
        assertThat(Files.exists(emperor.homeOf("red").resolve("evil"))).isFalse();
        assertThat(Files.exists(emperor.homeOf("blue").resolve("evil"))).isFalse();
        assertThat(problems).as("isolation failures").isEmpty();
    }

    /** Tells the tenant's probe what to aim at (host pid, the other's pid and host paths). */
    private void aim(String tenant, String other, int otherPid) {
        String targets = "host_pid=" + ProcessHandle.current().pid() + "\n"
                + "other_pid=" + otherPid + "\n"
                + "other_home=" + emperor.homeOf(other) + "\n"
                + "other_run=" + emperor.runDirOf(other) + "\n"
                + "control_socket=" + emperor.root().resolve("run/control.sock") + "\n"
                + "emperor_root=" + emperor.root() + "\n";
        EmperorProcess.writeAtomically(emperor.homeOf(tenant).resolve("targets"), targets);
    }

    private static List<String> judge(String tenant, List<String> lines) {
        List<String> problems = new ArrayList<>();
        Map<String, String> outcome = new LinkedHashMap<>();
        for (String line : lines) {
            if (line.startsWith("SANITY") && !line.endsWith(": ok")) problems.add(tenant + ": " + line);
            Matcher m = ATTEMPT.matcher(line);
            if (line.startsWith("ATTEMPT") && !m.matches()) problems.add(tenant + ": unparsable: " + line);
            if (!m.matches()) continue;
            outcome.put(m.group(1), m.group(3) == null ? m.group(2) : m.group(3));
            if (!EXPECTED.containsKey(m.group(1))) problems.add(tenant + ": unexpected attempt " + line);
        }
        EXPECTED.forEach((attempt, blockedBy) -> {
            String got = outcome.get(attempt);
            if (got == null) {
                problems.add(tenant + ": attempt " + attempt + " did not report");
            } else if (!blockedBy.contains(got)) {
                problems.add(tenant + ": " + attempt + " -> " + got + " (expected blocked by " + blockedBy + ")");
            }
        });
        return problems;
    }

    @Test
    void memoryOverTheLimitIsOomKilledInsideTheTenantOnly() {
        emperor.vassal("calm", SLEEPER, "distro = busybox");
        int calmPid = emperor.waitForRunning("calm").path("pid").asInt();
        emperor.vassal("hog", "exec = sh -c \"python3 -c 'bytearray(200 << 20); print(12345)'; echo exit=$?;"
                + " exec sleep 100000\"", "distro = bookworm", "memory = 64M");
        emperor.waitForRunning("hog");

        emperor.waitFor("the allocation to end", Duration.ofSeconds(60),
                () -> EmperorProcess.readLines(emperor.logOf("hog")).stream().anyMatch(l -> l.startsWith("exit=")),
                () -> "log: " + EmperorProcess.readLines(emperor.logOf("hog")));
        List<String> log = EmperorProcess.readLines(emperor.logOf("hog"));
        assertThat(log).as("killed by SIGKILL, never finished").contains("exit=137").doesNotContain("12345");
        emperor.waitFor("the OOM kill to show in status", Duration.ofSeconds(10),
                () -> emperor.statusOf("hog").path("oomKills").asLong() > 0,
                () -> "status: " + emperor.statusOf("hog"));
        JsonNode hog = emperor.statusOf("hog");
        assertThat(hog.path("memoryBytes").asLong()).isLessThanOrEqualTo(64L << 20);
        assertThat(emperor.statusOf("calm").path("pid").asInt()).isEqualTo(calmPid);
        assertThat(emperor.daemonAlive()).isTrue();
    }

    @Test
    void anOomKillOfTheMainPayloadIsReportedAsOne() {
        emperor.vassal("hog", "exec = python3 -c \"b = b'x' * (200 << 20)\"", "distro = bookworm", "memory = 64M");
        emperor.waitFor("the payload's OOM kill to be recorded", Duration.ofSeconds(60),
                () -> emperor.command("events", "hog").out().contains("killed by the OOM killer"),
                () -> "events: " + emperor.command("events", "hog").out() + "\nstatus: " + emperor.status("hog"));
        JsonNode hog = emperor.statusOf("hog");
        assertThat(hog.path("oomKills").asLong()).isPositive();
        assertThat(hog.path("lastExit").asText()).contains("OOM killer").contains("signal 9");
        assertThat(emperor.daemonOutput()).contains("vassal hog: payload killed by the OOM killer");
    }

    @Test
    void forkBombStopsAtThePidsLimit() {
        emperor.vassal("calm", SLEEPER, "distro = busybox");
        int calmPid = emperor.waitForRunning("calm").path("pid").asInt();
        emperor.vassal("forker", "exec = python3 /srv/forkbomb.py", "distro = bookworm", "pids = 50", probeBind());
        emperor.waitForRunning("forker");

        emperor.waitFor("the fork bomb's verdict", Duration.ofSeconds(60),
                () -> EmperorProcess.readLines(emperor.logOf("forker")).stream().anyMatch(l -> l.contains("fork-bomb")),
                () -> "log: " + EmperorProcess.readLines(emperor.logOf("forker")));
        String verdict = EmperorProcess.readLines(emperor.logOf("forker")).stream()
                .filter(l -> l.contains("fork-bomb")).findFirst().orElseThrow();
        Matcher m = Pattern.compile("ATTEMPT fork-bomb: blocked \\(EAGAIN\\) after (\\d+) children").matcher(verdict);
        assertThat(m.matches()).as(verdict).isTrue();
        assertThat(Integer.parseInt(m.group(1))).isLessThan(50);
        assertThat(emperor.statusOf("calm").path("pid").asInt()).isEqualTo(calmPid);
        // the neighbour can still fork: its shell runs a command
        assertThat(emperor.command("reload", "calm").code()).isZero();
        emperor.waitFor("calm to respawn", Duration.ofSeconds(30), () -> emperor.spawnCount("calm") == 2);
    }

    @Test
    void cpuLimitHoldsWhileTheNeighbourGetsItsShare() {
        // four busy loops, capped at 20 % of one core altogether
        emperor.vassal("capped", "exec = sh -c \"for i in 1 2 3 4; do (while :; do :; done) & done; wait\"",
                "distro = busybox", "cpu = 20%");
        emperor.vassal("free", "exec = sh -c \"while :; do :; done\"", "distro = busybox");
        emperor.waitForRunning("capped");
        emperor.waitForRunning("free");
        EmperorProcess.sleep(Duration.ofSeconds(2)); // let the loops start

        long c0 = emperor.statusOf("capped").path("cpuNanos").asLong();
        long f0 = emperor.statusOf("free").path("cpuNanos").asLong();
        long t0 = System.nanoTime();
        EmperorProcess.sleep(Duration.ofSeconds(10));
        long c1 = emperor.statusOf("capped").path("cpuNanos").asLong();
        long f1 = emperor.statusOf("free").path("cpuNanos").asLong();
        double wall = System.nanoTime() - t0;

        double capped = (c1 - c0) / wall;
        double free = (f1 - f0) / wall;
        System.out.printf("cpu share: capped %.3f, free %.3f (cores)%n", capped, free);
        assertThat(capped).as("capped tenant's share of a core").isBetween(0.12, 0.28);
        assertThat(free).as("neighbour's share of a core").isGreaterThan(0.6);
    }
}
