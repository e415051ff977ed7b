package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The `./emperor` launcher, as an operator runs it (on CI: a machine with no Maven installed,
 * the launcher's ./mvnw having built nothing since tests/run built the tree): the shipped
 * examples pass `check`, and short commands start from the class cache
 * the launcher makes once per build (an AOT cache on JDK 25+, a CDS archive on 21-24), and
 * EMPEROR_CLI_CACHE=off runs without it. The JVM's class-loading log says where each class
 * came from: "shared objects file" is the cache, "file:...jar" the jar.
 */
class CliLauncherTest {
    private static final Path LAUNCHER = EmperorProcess.REPO.resolve("emperor");
    private static final String MAIN = "dev.emperor.supervisor.Main source: ";

    @Test
    void aShortCommandLoadsItsClassesFromTheCacheOnceTheLauncherMadeIt() throws Exception {
        Result first = launch(Map.of(), "--help");
        assertThat(first.code).as(first.output).isZero();
        assertThat(first.output).contains("Usage: emperor");

        Result plain = launch(Map.of(), "--help");
        assertThat(plain.output).as("the JVM's warnings would reach stdout, which panels parse").doesNotContain("[warning]");

        Result cached = launch(Map.of("JDK_JAVA_OPTIONS", "-Xlog:class+load=info"), "--help");
        assertThat(cached.code).as(cached.output).isZero();
        assertThat(cached.output).contains(MAIN + "shared objects file");

        Result uncached = launch(Map.of("JDK_JAVA_OPTIONS", "-Xlog:class+load=info", "EMPEROR_CLI_CACHE", "off"), "--help");
        assertThat(uncached.code).as(uncached.output).isZero();
        assertThat(uncached.output).contains(MAIN + "file:").doesNotContain(MAIN + "shared objects file");
    }

    @Test
    void theShippedExampleVassalsPassCheckThroughTheLauncher() throws Exception {
        Path ini = Files.createTempFile(Path.of("/tmp"), "emperor-test-cli-", ".ini");
        try {
            Files.writeString(ini, "[emperor]\ndistro-dir = " + EmperorProcess.DISTROS + "\n");
            List<String> args = new ArrayList<>(List.of("check", "-c", ini.toString()));
            try (var examples = Files.list(EmperorProcess.REPO.resolve("vassals/examples"))) {
                examples.sorted().forEach(p -> args.add(p.toString()));
            }
            Result checked = launch(Map.of(), args.toArray(String[]::new));
            assertThat(checked.code).as(checked.output).isZero();
        } finally {
            Files.deleteIfExists(ini);
        }
    }

    private record Result(int code, String output) {}

    private static Result launch(Map<String, String> env, String... args) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(LAUNCHER.toString());
        builder.command().addAll(List.of(args));
        builder.environment().putAll(env);
        // the JDK the tests run on (>= 21), as tests/run picked it: the launcher takes JAVA_HOME first
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        builder.redirectErrorStream(true);
        Process process = builder.start();
        process.getOutputStream().close();
        byte[] output = process.getInputStream().readAllBytes();
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("./emperor " + String.join(" ", args) + " did not finish in 120 s");
        }
        return new Result(process.exitValue(), new String(output, StandardCharsets.UTF_8));
    }
}
