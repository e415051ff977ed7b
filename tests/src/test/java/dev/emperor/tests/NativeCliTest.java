package dev.emperor.tests;

import static dev.emperor.tests.EmperorProcess.SLEEPER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.tests.EmperorProcess.CliResult;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The native control client (supervisor/target/emperor-ctl) against a real emperor: for each
 * command it answers itself, its stdout, stderr and exit code are the Java CLI's, byte for
 * byte (the emperor renders the text with the CLI's own renderers). Its fallback here is a
 * script that fails the comparison, so every answer below is the native client's own.
 */
class NativeCliTest {
    private static final Path CLIENT = EmperorProcess.REPO.resolve("supervisor/target/emperor-ctl");
    private EmperorProcess emperor;
    private Path noFallback;

    @BeforeEach
    void startEmperor() throws IOException {
        emperor = new EmperorProcess().start();
        noFallback = emperor.root().resolve("no-fallback");
        Files.writeString(noFallback, "#!/bin/sh\necho \"native client fell back: $*\" >&2\nexit 99\n");
        Files.setPosixFilePermissions(noFallback, PosixFilePermissions.fromString("rwx------"));
    }

    @AfterEach
    void cleanUp() {
        emperor.close();
    }

    private CliResult nativeClient(String command, String... args) {
        List<String> cmd = new ArrayList<>(List.of(CLIENT.toString(), command, "-c", emperor.configFile().toString()));
        cmd.addAll(List.of(args));
        return run(cmd, Map.of("EMPEROR_CLI_FALLBACK", noFallback.toString()));
    }

    private static CliResult run(List<String> cmd, Map<String, String> env) {
        try {
            ProcessBuilder builder = new ProcessBuilder(cmd);
            builder.environment().remove("EMPEROR_NATIVE_CLI");
            builder.environment().putAll(env);
            Path out = Files.createTempFile("emperor-native-", ".out");
            Path err = Files.createTempFile("emperor-native-", ".err");
            try {
                Process p = builder.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
                p.getOutputStream().close();
                if (!p.waitFor(120, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor();
                    throw new AssertionError(cmd + " did not finish in 120 s");
                }
                return new CliResult(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                        Files.readString(err, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The native client's answer is the Java CLI's, byte for byte, with the same exit code. */
    private CliResult assertSame(String command, String... args) {
        CliResult jvm = emperor.command(command, args);
        CliResult fast = nativeClient(command, args);
        String what = command + " " + String.join(" ", args);
        assertThat(fast.err()).as(what + ": stderr").isEqualTo(jvm.err());
        assertThat(fast.out()).as(what + ": stdout").isEqualTo(jvm.out());
        assertThat(fast.code()).as(what + ": exit code").isEqualTo(jvm.code());
        return fast;
    }

    @Test
    void statusLogsAndCheckPrintWhatTheJavaCliPrints() throws IOException {
        emperor.vassal("shop", SLEEPER, "distro = busybox");
        emperor.vassal("blog", "exec = /bin/sh -c \"echo started; echo second; exec sleep 100000\"", "distro = busybox");
        emperor.waitForRunning("shop");
        emperor.waitForRunning("blog");
        // stopped: no uptime, memory or CPU that would change between the two calls
        assertThat(emperor.command("stop", "shop", "--wait", "30").code()).isZero();
        assertThat(emperor.command("stop", "blog", "--wait", "30").code()).isZero();

        assertThat(assertSame("status").out()).contains("shop").contains("blog");
        assertSame("status", "shop");
        assertSame("status", "--json");
        assertSame("status", "shop", "--json");
        assertSame("status", "--retired");
        assertThat(assertSame("status", "ghost").code()).isEqualTo(1);

        assertThat(assertSame("logs", "blog").out()).contains("started").contains("second");
        assertSame("logs", "blog", "-n", "1");
        assertSame("logs", "blog", "--lines=0");
        assertThat(assertSame("logs", "ghost").code()).isEqualTo(1);
        assertThat(assertSame("logs", "Not_A_Name").code()).isEqualTo(2);

        Path dir = Files.createDirectories(emperor.root().resolve("check"));
        Path good = dir.resolve("good.ini");
        Files.writeString(good, "[vassal]\nexec = /bin/true\ndistro = busybox\n");
        Path typo = dir.resolve("typo.json");
        Files.writeString(typo, "{\"exec\": \"/bin/true\", \"distor\": \"busybox\"}");
        Path badName = dir.resolve("Bad.ini");
        Files.writeString(badName, "[vassal]\nexec = /bin/true\n");
        Path notUtf8 = dir.resolve("bytes.ini");
        Files.write(notUtf8, new byte[] {'[', 'v', 'a', 's', 's', 'a', 'l', ']', '\n', '#', (byte) 0xc3, '\n'});
        assertThat(assertSame("check", good.toString()).out()).isEqualTo(good + ": ok\n");
        assertThat(assertSame("check", good.toString(), typo.toString(), badName.toString(), notUtf8.toString()).code())
                .isEqualTo(1);
    }

    @Test
    void startStopAndReloadPrintWhatTheJavaCliPrints() {
        emperor.vassal("shop", SLEEPER, "distro = busybox");
        emperor.waitForRunning("shop");
        // each action once by each client, from the same state
        CliResult fastStop = nativeClient("stop", "shop", "--wait", "30");
        assertThat(emperor.command("start", "shop", "--wait", "30").code()).isZero();
        CliResult jvmStop = emperor.command("stop", "shop", "--wait", "30");
        assertThat(fastStop).isEqualTo(jvmStop).isEqualTo(new CliResult(0, "shop: stop done: stopped\n", ""));

        CliResult fastStart = nativeClient("start", "shop");
        emperor.waitForRunning("shop");
        assertThat(emperor.command("stop", "shop", "--wait", "30").code()).isZero();
        CliResult jvmStart = emperor.command("start", "shop");
        emperor.waitForRunning("shop");
        assertThat(fastStart).isEqualTo(jvmStart).isEqualTo(new CliResult(0, "shop: start requested\n", ""));

        CliResult fastReload = nativeClient("reload", "shop", "--wait=30");
        int pid = emperor.statusOf("shop").path("pid").asInt();
        assertThat(fastReload).isEqualTo(new CliResult(0, "shop: reload done: running (pid " + pid + ")\n", ""));
        CliResult jvmReload = emperor.command("reload", "shop", "--wait=30");
        int newPid = emperor.statusOf("shop").path("pid").asInt();
        assertThat(jvmReload).isEqualTo(new CliResult(0, "shop: reload done: running (pid " + newPid + ")\n", ""));

        assertThat(assertSame("stop", "ghost").code()).isEqualTo(1);
        assertThat(assertSame("start", "ghost", "--wait", "5").err()).startsWith("emperor: ");
    }

    /** ./emperor takes the native client first, and it hands over to the JVM when no emperor answers. */
    @Test
    void theLauncherAnswersFromTheNativeClientAndFallsBackToTheJvm() {
        emperor.vassal("shop", SLEEPER, "distro = busybox");
        emperor.waitForRunning("shop");
        assertThat(emperor.command("stop", "shop", "--wait", "30").code()).isZero();
        List<String> launcher = List.of(EmperorProcess.REPO.resolve("emperor").toString(), "status", "-c",
                emperor.configFile().toString());
        // a JVM started here would print its class loading on stdout: none may appear
        Map<String, String> env = Map.of("JDK_JAVA_OPTIONS", "-Xlog:class+load=info", "JAVA_HOME", System.getProperty("java.home"));
        assertThat(run(launcher, env)).isEqualTo(emperor.command("status"));

        emperor.stop();
        CliResult fellBack = run(launcher, Map.of("JAVA_HOME", System.getProperty("java.home")));
        assertThat(fellBack.code()).isEqualTo(1);
        assertThat(fellBack.err()).contains("emperor is not running (no control socket at ");
    }
}
