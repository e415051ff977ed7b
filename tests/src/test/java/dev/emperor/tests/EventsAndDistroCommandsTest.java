package dev.emperor.tests;

import static dev.emperor.tests.EmperorProcess.SLEEPER;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** `emperor events` shows a tenant's history; `emperor distro rm` refuses a distro in use. */
class EventsAndDistroCommandsTest {
    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().build();
    private final EmperorProcess emperor = fixture.process();

    @Test
    void eventsListSpawnExitAndReloadOldestFirst() {
        emperor.vassal("alpha", "exec = sh -c \"exit 7\"", "distro = busybox");
        emperor.waitFor("a crash to be recorded", Duration.ofSeconds(20),
                () -> emperor.command("events", "alpha").out().contains("exit code 7"));
        EmperorProcess.CliResult events = emperor.command("events", "alpha");
        assertThat(events.code()).isZero();
        String out = events.out();
        assertThat(out.indexOf("spawn")).isGreaterThanOrEqualTo(0).isLessThan(out.indexOf("exit code 7"));
        EmperorProcess.CliResult unknown = emperor.command("events", "nobody-here");
        assertThat(unknown.code()).isEqualTo(1);
        assertThat(unknown.err()).contains("no vassal named 'nobody-here'");
    }

    @Test
    void distroRmIsRefusedWhileAVassalFileNamesIt() throws Exception {
        // a private distro store: a copy of the busybox root under the test's own directory
        Path store = Files.createDirectories(emperor.root().resolve("distros"));
        new ProcessBuilder("cp", "-a", EmperorProcess.DISTROS.resolve("busybox").toString(),
                store.resolve("tiny").toString()).inheritIO().start().waitFor();
        Path config = emperor.root().resolve("distro-test.ini");
        EmperorProcess.write(config, "[emperor]\nvassals = vassals\ndistro-dir = distros\n");
        emperor.vassal("user1", SLEEPER, "distro = tiny");

        EmperorProcess.CliResult refused = EmperorProcess.cli("distro", "rm", "-c", config.toString(), "tiny");
        assertThat(refused.code()).isEqualTo(1);
        assertThat(refused.err()).contains("distro tiny is in use by user1");
        assertThat(store.resolve("tiny/bin/busybox")).exists();
        assertThat(EmperorProcess.cli("distro", "list", "-c", config.toString()).out()).contains("tiny").contains("user1");

        Files.delete(emperor.vassalsDir().resolve("user1.ini"));
        EmperorProcess.CliResult removed = EmperorProcess.cli("distro", "rm", "-c", config.toString(), "tiny");
        assertThat(removed.code()).as(removed.err()).isZero();
        assertThat(store.resolve("tiny")).doesNotExist();
    }
}
