package dev.emperor.supervisor.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostVassalEnvironmentTest {

    @Test
    void accountsAreFoundByName() {
        assertThat(HostVassalEnvironment.findAccount(TestHost.PASSWD, "alice"))
                .contains(new VassalEnvironment.HostAccount(1500, 1500));
        assertThat(HostVassalEnvironment.findAccount(TestHost.PASSWD, "root"))
                .contains(new VassalEnvironment.HostAccount(0, 0));
        assertThat(HostVassalEnvironment.findAccount(TestHost.PASSWD, "big"))
                .contains(new VassalEnvironment.HostAccount(3_000_000_000L, 3_000_000_000L));
    }

    @Test
    void commentsNisLinesAndMalformedLinesAreSkipped() {
        assertThat(HostVassalEnvironment.findAccount(TestHost.PASSWD, "broken")).isEmpty();
        assertThat(HostVassalEnvironment.findAccount(TestHost.PASSWD, "+nisuser")).isEmpty();
        assertThat(HostVassalEnvironment.findAccount(TestHost.PASSWD, "# a comment")).isEmpty();
        assertThat(HostVassalEnvironment.findAccount("short:x:1\n::::\n", "short")).isEmpty();
        assertThat(HostVassalEnvironment.findAccount("x:x:99999999999:1::/:/bin/sh\n", "x")).isEmpty();
    }

    @Test
    void theFirstMatchingLineWins() {
        assertThat(HostVassalEnvironment.findAccount("a:x:2000:2000::/:\na:x:3000:3000::/:\n", "a"))
                .contains(new VassalEnvironment.HostAccount(2000, 2000));
    }

    @Test
    void unknownNamesAreEmpty() {
        assertThat(HostVassalEnvironment.findAccount(TestHost.PASSWD, "mallory")).isEmpty();
        assertThat(HostVassalEnvironment.findAccount("", "")).isEmpty();
    }

    @Test
    void theRealPasswdFileIsReadable() {
        var env = new HostVassalEnvironment(Path.of("/nonexistent"), Path.of("/etc/passwd"), 1);
        assertThat(env.lookupUser("root")).contains(new VassalEnvironment.HostAccount(0, 0));
    }

    @Test
    void anUnreadablePasswdFileIsReported(@TempDir Path dir) {
        var env = new HostVassalEnvironment(dir, dir.resolve("passwd"), 1);
        assertThatThrownBy(() -> env.lookupUser("root"))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessage("cannot read " + dir.resolve("passwd") + ": no such file");
    }

    @Test
    void distrosAreDirectoriesOfTheStore(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("bookworm"));
        Files.writeString(dir.resolve("notadir"), "");
        var env = new HostVassalEnvironment(dir, Path.of("/etc/passwd"), 1);
        assertThat(env.distroExists("bookworm")).isTrue();
        assertThat(env.distroExists("trixie")).isFalse();
        assertThat(env.distroExists("notadir")).isFalse();
        assertThat(env.distroExists("..")).isFalse();
        assertThat(env.distroExists("")).isFalse();
        assertThat(env.distroExists("bookworm/../bookworm")).isFalse();
    }

    @Test
    void theHostEnvironmentFollowsEmperorIni() {
        EmperorConfig config = EmperorConfig.defaults();
        HostVassalEnvironment env = HostVassalEnvironment.of(config);
        assertThat(env.defaultTmpBytes()).isEqualTo(config.tmpSize());
    }
}
