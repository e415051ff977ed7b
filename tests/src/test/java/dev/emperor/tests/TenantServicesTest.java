package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Cron jobs and attached daemons run inside their tenant, as the tenant, and never disturb it. */
class TenantServicesTest {
    private static final String PAYLOAD = "exec = sh -c \"echo $$ >> /run/spawns; exec sleep 100000\"";
    private static final String DAEMON = "daemon = sh -c \"echo $$ >> /run/daemon; exec sleep 100000\"";

    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().build();
    private final EmperorProcess emperor = fixture.process();

    private JsonNode daemon(String tenant, int index) {
        return emperor.statusOf(tenant).path("daemons").get(index);
    }

    private int waitForDaemonPid(String tenant, int index, int notThis) {
        int[] pid = new int[1];
        emperor.waitFor("daemon " + index + " of " + tenant + " to run", Duration.ofSeconds(30), () -> {
            JsonNode d = daemon(tenant, index);
            pid[0] = d == null ? 0 : d.path("pid").asInt();
            return pid[0] > 0 && pid[0] != notThis && EmperorProcess.alive(pid[0]);
        }, () -> "status: " + emperor.statusOf(tenant));
        return pid[0];
    }

    private static String uidOf(int pid) throws IOException {
        return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream().filter(l -> l.startsWith("Uid:"))
                .findFirst().orElseThrow().split("\\s+")[1];
    }

    @Test
    void aDaemonRunsInsideTheTenantAsTheTenantIsRespawnedAfterBeingKilledAndStopsWithIt() throws Exception {
        emperor.vassal("shop", PAYLOAD, DAEMON, "distro = busybox");
        JsonNode shop = emperor.waitForRunning("shop");
        int init = shop.path("pid").asInt();
        int daemon = waitForDaemonPid("shop", 0, 0);

        assertThat(EmperorProcess.pidNamespace(daemon)).as("same pid namespace as the tenant")
                .isEqualTo(EmperorProcess.pidNamespace(init));
        assertThat(uidOf(daemon)).isEqualTo(shop.path("uid").asText());
        assertThat(emperor.processesOf("shop")).contains(daemon);
        emperor.waitFor("the daemon to write its pid", Duration.ofSeconds(10),
                () -> !EmperorProcess.readLines(emperor.runDirOf("shop").resolve("daemon")).isEmpty());
        int innerPid = Integer.parseInt(EmperorProcess.readLines(emperor.runDirOf("shop").resolve("daemon")).get(0));
        assertThat(innerPid).as("a small pid: the daemon sees the tenant's pid namespace").isLessThan(100);

        ProcessHandle.of(daemon).orElseThrow().destroyForcibly();
        int again = waitForDaemonPid("shop", 0, daemon);
        JsonNode d = daemon("shop", 0);
        assertThat(d.path("restarts").asInt()).isEqualTo(1);
        assertThat(d.path("lastExit").asText()).isEqualTo("killed by signal 9");
        assertThat(emperor.statusOf("shop").path("pid").asInt()).as("the payload was not disturbed").isEqualTo(init);
        assertThat(emperor.spawnCount("shop")).isEqualTo(1);

        assertThat(emperor.command("stop", "shop").code()).isZero();
        emperor.waitForState("shop", "stopped", Duration.ofSeconds(30));
        emperor.waitFor("the daemon to be gone", Duration.ofSeconds(10), () -> !EmperorProcess.alive(again));
        assertThat(emperor.statusOf("shop").path("daemons")).isEmpty();
    }

    @Test
    void aDaemonThatExitsAtOnceBacksOffIsReportedAndLeavesTheTenantAlone() {
        emperor.vassal("shop", PAYLOAD, "daemon = sh -c 'exit 7'", "distro = busybox");
        int init = emperor.waitForRunning("shop").path("pid").asInt();
        emperor.waitFor("three quick exits", Duration.ofSeconds(30), () -> daemon("shop", 0).path("restarts").asInt() >= 3,
                () -> "status: " + emperor.statusOf("shop"));
        JsonNode d = daemon("shop", 0);
        assertThat(d.path("lastExit").asText()).isEqualTo("exit code 7");
        assertThat(emperor.command("events", "shop").out()).contains("daemon: 'sh -c 'exit 7'' exited (exit code 7)");
        JsonNode shop = emperor.statusOf("shop");
        assertThat(shop.path("state").asText()).isEqualTo("running");
        assertThat(shop.path("pid").asInt()).isEqualTo(init);
        assertThat(shop.path("restarts").asInt()).isZero();
        // Back-off: 1+2+4 s before the fourth start, so no more than a handful of starts in this time.
        assertThat(d.path("restarts").asInt()).isLessThan(6);
    }

    @Test
    void changingOnlyDaemonLinesKeepsThePayloadAndUnchangedDaemons() {
        emperor.vassal("shop", PAYLOAD, DAEMON, "distro = busybox");
        int init = emperor.waitForRunning("shop").path("pid").asInt();
        int first = waitForDaemonPid("shop", 0, 0);
        emperor.vassal("shop", PAYLOAD, DAEMON, "daemon = sleep 99999", "distro = busybox");
        int second = waitForDaemonPid("shop", 1, 0);
        assertThat(daemon("shop", 0).path("pid").asInt()).isEqualTo(first);
        emperor.vassal("shop", PAYLOAD, "daemon = sleep 99999", "distro = busybox");
        emperor.waitFor("the removed daemon to stop", Duration.ofSeconds(15), () -> !EmperorProcess.alive(first));
        assertThat(daemon("shop", 0).path("pid").asInt()).isEqualTo(second);
        assertThat(emperor.statusOf("shop").path("pid").asInt()).isEqualTo(init);
        assertThat(emperor.spawnCount("shop")).isEqualTo(1);
    }

    @Test
    void everyMinuteCronJobRunsAsTheTenantIntoItsLogAndAnOverlongRunIsKilled() throws Exception {
        emperor.vassal("shop", PAYLOAD, "distro = busybox",
                // shell syntax: the tenant's /bin/sh runs the command, as crontab does
                "cron = -1 -1 -1 -1 -1 echo cron-ran-as-$(id -u) && cd /tmp && echo cwd-$PWD",
                "cron = * * * * * sleep 1000",
                "cron-timeout = 2s");
        JsonNode shop = emperor.waitForRunning("shop");
        String uid = shop.path("uid").asText();
        Path log = emperor.logOf("shop");
        emperor.waitFor("the every-minute job to write to the log", Duration.ofSeconds(75),
                () -> Files.exists(log) && Files.readString(log).contains("cron-ran-as-" + uid));
        assertThat(Files.readString(log)).contains("cwd-/tmp");
        emperor.waitFor("the overlong job to be killed", Duration.ofSeconds(15), () -> {
            JsonNode job = emperor.statusOf("shop").path("cron").get(1);
            return job.path("lastResult").asText().equals("killed by signal 15");
        }, () -> "status: " + emperor.statusOf("shop"));
        assertThat(Files.readString(log)).contains("over its time limit of 2s: terminating");
        assertThat(emperor.command("events", "shop").out()).contains("ran longer than PT2S");
        JsonNode job = emperor.statusOf("shop").path("cron").get(0);
        assertThat(job.path("runs").asInt()).isGreaterThanOrEqualTo(1);
        assertThat(job.path("lastResult").asText()).isEqualTo("exit code 0");
        assertThat(emperor.statusOf("shop").path("pid").asInt()).isEqualTo(shop.path("pid").asInt());
        assertThat(emperor.processesOf("shop")).hasSize(1 + 1); // pid 1 and the payload: no job left behind
    }

    @Test
    void afterAnEmperorCrashDaemonsAreReadoptedNeverStartedTwice() {
        emperor.vassal("shop", PAYLOAD, DAEMON, "distro = busybox");
        int init = emperor.waitForRunning("shop").path("pid").asInt();
        int daemon = waitForDaemonPid("shop", 0, 0);
        emperor.kill9();
        emperor.start();
        emperor.waitFor("the daemon to be re-adopted", Duration.ofSeconds(30),
                () -> emperor.status("shop").map(s -> s.path("daemons").path(0).path("pid").asInt() == daemon).orElse(false),
                () -> "status: " + emperor.status("shop"));
        assertThat(emperor.statusOf("shop").path("pid").asInt()).isEqualTo(init);
        assertThat(EmperorProcess.readLines(emperor.runDirOf("shop").resolve("daemon"))).as("started once").hasSize(1);
        assertThat(emperor.command("events", "shop").out()).contains("re-adopted");

        // Still supervised: killed, it comes back (its status is unknown: the tenant's pid 1 reaped it).
        ProcessHandle.of(daemon).orElseThrow().destroyForcibly();
        waitForDaemonPid("shop", 0, daemon);
        assertThat(EmperorProcess.readLines(emperor.runDirOf("shop").resolve("daemon"))).hasSize(2);
    }
}
