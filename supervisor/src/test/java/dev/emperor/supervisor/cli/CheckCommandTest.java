package dev.emperor.supervisor.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** `emperor check [-v] FILE...`: run in-process against an emperor.ini of directories under a temp dir. */
class CheckCommandTest {
    @TempDir
    Path dir;
    private Path ini;
    private Path distro;

    @BeforeEach
    void emperorIniAndADistroWithAccountFiles() throws IOException {
        distro = Files.createDirectories(dir.resolve("distros/bookworm/etc"));
        Files.writeString(distro.resolve("passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        Files.writeString(distro.resolve("group"), "root:x:0:\n");
        Files.createDirectories(dir.resolve("distros/bookworm/srv/data"));
        ini = Files.writeString(dir.resolve("emperor.ini"), String.join("\n",
                "[emperor]",
                "state-dir = " + dir.resolve("state"),
                "run-dir = " + dir.resolve("run"),
                "distro-dir = " + dir.resolve("distros"),
                "home-dir = " + dir.resolve("homes"),
                "opt-dir = " + Files.createDirectories(dir.resolve("opt")),
                ""));
    }

    private record Result(int status, List<String> lines) {}

    private Result check(String... args) {
        PrintStream stdout = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            status = new CommandLine(new CheckCommand()).execute(args);
        } finally {
            System.setOut(stdout);
        }
        return new Result(status, out.toString(StandardCharsets.UTF_8).lines().toList());
    }

    @Test
    void verbosePrintsTheVassalsMountPlanInTheOrderItRuns() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path file = Files.writeString(dir.resolve("web.ini"),
                "[vassal]\nexec = /bin/sleep 1\nbind = " + data + ":/srv/data:rw\n");

        Result result = check("-c", ini.toString(), "-v", file.toString());

        assertThat(result.status()).as("%s", result.lines()).isZero();
        Path root = distro.getParent();
        assertThat(result.lines()).startsWith(
                file + ": ok",
                "  mount plan of web, in order:",
                "    bind " + root + " onto /",
                "    remount / ro,nosuid,nodev",
                "    tmpfs on /tmp rw,nosuid,nodev mode=1777,size=67108864",
                "    tmpfs on /dev rw,nosuid,nodev,noexec mode=755,size=65536",
                "    create /dev/null (empty, opened read-only)",
                "    bind /dev/null onto /dev/null");
        assertThat(result.lines()).containsSubsequence(
                "    remount /dev ro,nosuid,nodev,noexec",
                "    bind " + dir.resolve("run/vassals/web") + " onto /run",
                "    remount /run rw,nosuid,nodev",
                "    tmpfs on /home rw,nosuid,nodev,noexec mode=755,size=16384",
                "    mkdir /home/web 0755",
                "    bind " + dir.resolve("homes/web") + " onto /home/web",
                "    remount /home ro,nosuid,nodev,noexec",
                "    bind " + dir.resolve("opt") + " onto /opt",
                "    remount /opt ro,nosuid,nodev",
                "    bind " + data + " onto /srv/data",
                "    remount /srv/data rw,nosuid,nodev",
                // the account files the launcher writes at spawn, bound read-only
                "    bind " + dir.resolve("run/accounts/web/passwd") + " onto /etc/passwd",
                "    remount /etc/passwd ro,nosuid,nodev",
                "    bind " + dir.resolve("run/accounts/web/group") + " onto /etc/group",
                "    remount /etc/group ro,nosuid,nodev",
                "    helper: proc on /proc nosuid,nodev,noexec",
                "    helper: mask /proc/kcore",
                "    helper: read-only /proc/sys");
        assertThat(result.lines()).last().isEqualTo("    helper: read-only /proc/fs");
        // check runs nothing and writes nothing: no account files, no run directory
        assertThat(dir.resolve("run")).doesNotExist();
    }

    @Test
    void withoutVerboseOnlyTheVerdictIsPrinted() throws IOException {
        Path file = Files.writeString(dir.resolve("web.ini"), "[vassal]\nexec = /bin/sleep 1\n");

        assertThat(check("-c", ini.toString(), file.toString())).isEqualTo(new Result(0, List.of(file + ": ok")));
    }

    @Test
    void anInvalidFileGetsItsErrorAndNoPlan() throws IOException {
        Path file = Files.writeString(dir.resolve("web.ini"), "[vassal]\nexec = /bin/sleep 1\ndistro = nosuch\n");

        Result result = check("-c", ini.toString(), "-v", file.toString());

        assertThat(result.status()).isEqualTo(1);
        assertThat(result.lines()).hasSize(1);
        assertThat(result.lines().get(0)).contains("web.ini").contains("nosuch");
    }
}
