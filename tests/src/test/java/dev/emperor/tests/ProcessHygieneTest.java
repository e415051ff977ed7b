package dev.emperor.tests;

import static dev.emperor.tests.EmperorProcess.SLEEPER;
import static dev.emperor.tests.EmperorProcess.alive;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Tenants are not part of the emperor's terminal job: pid 1 of each leads its own session,
 * so a Ctrl-C on a foreground `emperor run` (SIGINT to its whole process group) reaches the
 * emperor only.
 */
class ProcessHygieneTest {
    private final EmperorProcess emperor = new EmperorProcess();

    @AfterEach
    void cleanUp() {
        emperor.close();
    }

    @Test
    void ctrlCOnAForegroundEmperorLeavesTenantsRunning() throws Exception {
        emperor.set("on-exit", "leave").startInOwnProcessGroup();
        emperor.vassal("calm", SLEEPER, "distro = busybox");
        int pid1 = emperor.waitForRunning("calm").path("pid").asInt();
        long group = emperor.daemonPid();
        assertThat(Files.readString(Path.of("/proc", Integer.toString(pid1), "stat")).split(" ")[4])
                .as("pid 1's process group").isNotEqualTo(Long.toString(group));

        // What the terminal driver does on Ctrl-C: SIGINT to every process of the foreground group.
        Process kill = new ProcessBuilder("kill", "-INT", "--", "-" + group).start();
        assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(kill.exitValue()).isZero();
        emperor.waitFor("the emperor to exit on SIGINT", Duration.ofSeconds(60), () -> !emperor.daemonAlive(),
                emperor::daemonOutput);

        assertThat(alive(pid1)).as("the tenant's pid 1 after the emperor's Ctrl-C").isTrue();
        assertThat(emperor.processesOf("calm")).as("the tenant's processes").hasSizeGreaterThanOrEqualTo(2);
        // and the next emperor adopts it, never having restarted it
        emperor.start();
        assertThat(emperor.waitForRunning("calm").path("pid").asInt()).isEqualTo(pid1);
        assertThat(emperor.spawnCount("calm")).isEqualTo(1);
        // clean up as an emperor that takes its tenants down
        assertThat(emperor.stop()).isZero();
        emperor.set("on-exit", "stop").start();
        emperor.waitForRunning("calm");
    }
}
