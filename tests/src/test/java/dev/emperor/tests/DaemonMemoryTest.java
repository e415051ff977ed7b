package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The daemon started by the operator's launcher (./emperor run) has a bounded heap and a
 * collector that gives memory back when idle: asked of the running JVM itself with the JDK's
 * jcmd (VM.flags), so a flag the JVM ignored or never got fails. Before, the heap had no
 * maximum (a quarter of RAM) and Serial GC never shrank it while idle.
 */
class DaemonMemoryTest {
    private static final Path JCMD = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    private EmperorProcess emperor;

    @AfterEach
    void cleanUp() {
        if (emperor != null) emperor.close();
    }

    @Test
    void theDaemonRunsWithABoundedHeapAndDirectMemoryAndAPeriodicCollection() throws Exception {
        emperor = new EmperorProcess().startWithLauncher(Map.of());
        String flags = vmFlags(emperor.daemonPid());
        assertThat(flags).contains("-XX:MaxHeapSize=" + 256L * 1024 * 1024, "-XX:+UseG1GC",
                "-XX:G1PeriodicGCInterval=60000", "-XX:MaxHeapFreeRatio=30", "-XX:MaxDirectMemorySize=" + 256L * 1024 * 1024);
    }

    @Test
    void emperorHeapMaxSetsTheDaemonsMaximumHeap() throws Exception {
        emperor = new EmperorProcess().startWithLauncher(Map.of("EMPEROR_HEAP_MAX", "192m", "EMPEROR_DIRECT_MAX", "96m"));
        String flags = vmFlags(emperor.daemonPid());
        assertThat(flags).contains("-XX:MaxHeapSize=" + 192L * 1024 * 1024, "-XX:MaxDirectMemorySize=" + 96L * 1024 * 1024);
    }

    @Test
    void aMalformedHeapSizeIsRefusedNamingTheVariable() throws Exception {
        Process bad = withEnv(List.of(EmperorProcess.REPO.resolve("emperor").toString(), "run", "-c", "/nonexistent.ini"),
                Map.of("EMPEROR_HEAP_MAX", "1 g"));
        assertThat(bad.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String out = new String(bad.getInputStream().readAllBytes());
        assertThat(bad.exitValue()).isNotZero();
        assertThat(out).contains("EMPEROR_HEAP_MAX=1 g: expected a size such as 256m or 1g");
    }

    private static Process withEnv(List<String> cmd, Map<String, String> env) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(cmd).redirectErrorStream(true);
        builder.environment().putAll(env);
        Process p = builder.start();
        p.getOutputStream().close();
        return p;
    }

    /** `jcmd PID VM.flags`: the flags the running JVM has (set on its command line or by ergonomics). */
    private static String vmFlags(long pid) throws Exception {
        assertThat(Files.isExecutable(JCMD)).as("%s", JCMD).isTrue();
        Process jcmd = new ProcessBuilder(JCMD.toString(), Long.toString(pid), "VM.flags").redirectErrorStream(true).start();
        String out = new String(jcmd.getInputStream().readAllBytes());
        assertThat(jcmd.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(jcmd.exitValue()).as("jcmd: %s", out).isZero();
        return out;
    }
}
