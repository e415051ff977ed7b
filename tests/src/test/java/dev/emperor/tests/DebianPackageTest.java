package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Debian package (packaging/README.md): packaging/build-deb makes it from the jars this
 * Maven run built, packaging/test-deb installs it offline into a copy of the bookworm test
 * distro and runs it there (--help, check of the shipped examples, systemd-analyze verify).
 */
class DebianPackageTest {
    private static final Path OUT = EmperorProcess.REPO.resolve("tests/target/deb");
    private static Path deb;

    record Result(int code, String out) {}

    private static Result run(List<String> command, Path log) throws IOException, InterruptedException {
        Files.createDirectories(log.getParent());
        Process p = new ProcessBuilder(command).directory(EmperorProcess.REPO.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        if (!p.waitFor(15, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError(command + " did not finish; see " + log);
        }
        return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }

    @BeforeAll
    static void buildPackage() throws Exception {
        Result built = run(List.of("/bin/bash", EmperorProcess.REPO.resolve("packaging/build-deb").toString(),
                "--output", OUT.toString(), "--fast"), OUT.resolve("build-deb.log"));
        assertThat(built.code()).as(built.out()).isZero();
        String last = built.out().strip().lines().reduce((a, b) -> b).orElse("");
        deb = Path.of(last);
        assertThat(deb.getFileName().toString()).matches("emperor_[0-9][0-9A-Za-z.~+]*_amd64\\.deb");
        assertThat(deb).isRegularFile();
    }

    @Test
    void packageHoldsTheLauncherRuntimeNativePartsUnitAndConffile() throws Exception {
        Result contents = run(List.of("/usr/bin/dpkg-deb", "--contents", deb.toString()), OUT.resolve("contents.log"));
        assertThat(contents.code()).isZero();
        assertThat(contents.out()).contains("./usr/bin/emperor\n", "./usr/lib/emperor/emperor-supervisor.jar\n",
                "./usr/lib/emperor/emperor-init\n", "./usr/lib/emperor/emperor-shell\n", "./usr/lib/emperor/emperor-ctl\n",
                "./usr/lib/emperor/runtime/bin/java\n", "./lib/systemd/system/emperor.service\n",
                "./etc/emperor/emperor.ini\n", "./etc/emperor/vassals/\n", "./var/lib/emperor/\n",
                "./usr/share/doc/emperor/examples/hello.ini\n", "./usr/share/doc/emperor/API.md\n");
        // Every file belongs to root: the helper and its directory are refused otherwise.
        assertThat(contents.out().lines()).allMatch(line -> line.contains(" root/root "));

        Result control = run(List.of("/usr/bin/dpkg-deb", "--field", deb.toString(), "Depends", "Conffiles"),
                OUT.resolve("control.log"));
        assertThat(control.out()).contains("Depends: libc6").doesNotContain("openjdk").doesNotContain("default-jre");

        Result conffiles = run(List.of("/bin/sh", "-c", "/usr/bin/dpkg-deb --ctrl-tarfile '" + deb
                + "' | /usr/bin/tar -xOf - ./conffiles"), OUT.resolve("conffiles.log"));
        assertThat(conffiles.out()).isEqualTo("/etc/emperor/emperor.ini\n");
    }

    @Test
    void theUnitRunsTheInstalledLauncherAndNeverBuilds() throws Exception {
        Result unit = run(List.of("/bin/sh", "-c", "/usr/bin/dpkg-deb --fsys-tarfile '" + deb
                + "' | /usr/bin/tar -xOf - ./lib/systemd/system/emperor.service"), OUT.resolve("unit.log"));
        assertThat(unit.code()).isZero();
        assertThat(unit.out()).contains("\nExecStart=/usr/bin/emperor run -c /etc/emperor/emperor.ini\n",
                "\nType=notify\n", "\nKillMode=process\n", "\nDelegate=yes\n").doesNotContain("/opt/emperor");
        Result launcher = run(List.of("/bin/sh", "-c", "/usr/bin/dpkg-deb --fsys-tarfile '" + deb
                + "' | /usr/bin/tar -xOf - ./usr/bin/emperor"), OUT.resolve("launcher.log"));
        assertThat(launcher.out()).contains("\nlib=/usr/lib/emperor\n", "exec \"$lib/runtime/bin/java\" ")
                .doesNotContain("mvn").doesNotContain("build_if_needed");
    }

    @Test
    void installsOfflineIntoAFreshBookwormAndRuns() throws Exception {
        Result tested = run(List.of("/bin/bash", EmperorProcess.REPO.resolve("packaging/test-deb").toString(),
                deb.toString(), EmperorProcess.DISTROS.resolve("bookworm").toString()), OUT.resolve("test-deb.log"));
        assertThat(tested.code()).as(tested.out()).isZero();
        assertThat(tested.out()).contains("/usr/share/doc/emperor/examples/hello.ini: ok",
                "/usr/share/doc/emperor/examples/worker.json: ok", "/etc/emperor/emperor.ini: ok", "test-deb: ok");
    }
}
