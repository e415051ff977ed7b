package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An emperor started with HUP, INT and TERM ignored (nohup, a shell without job control) still
 * reloads on SIGHUP and stops on SIGTERM (the JVM alone would keep them ignored), and its
 * tenants do not inherit the ignored signals.
 */
class IgnoredSignalsTest {
    private static final long HUP_INT_TERM = (1L << 0) | (1L << 1) | (1L << 14);

    private EmperorProcess emperor;

    @AfterEach
    void cleanUp() {
        if (emperor != null) emperor.close();
    }

    @Test
    void theDaemonHandlesSignalsItInheritedIgnoredAndItsTenantsStartWithTheDefault() throws Exception {
        emperor = new EmperorProcess().withInheritedIgnoredSignals().start();
        assertThat(ignoredMask(emperor.daemonPid()) & HUP_INT_TERM).as("the daemon's ignored signals").isZero();
        assertThat(emperor.daemonOutput()).contains("SIGHUP was ignored when the emperor started");

        emperor.vassal("idle", "exec = sleep 3600", "distro = busybox");
        emperor.waitForRunning("idle");
        assertThat(emperor.processesOf("idle")).isNotEmpty().allSatisfy(pid ->
                assertThat(ignoredMask(pid) & HUP_INT_TERM).as("signals ignored by tenant process " + pid).isZero());

        emperor.set("stop-grace", "2s");
        emperor.reload(); // waits for the daemon's "re-read" line: fails if SIGHUP did nothing
        assertThat(emperor.stop()).as("exit code after SIGTERM").isZero();
    }

    private static long ignoredMask(long pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("SigIgn:")) return Long.parseUnsignedLong(line.substring(7).strip(), 16);
        }
        throw new AssertionError("no SigIgn line for pid " + pid);
    }
}
