package dev.emperor.supervisor.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cron, cron-timeout and daemon keys of a vassal file, and cron-timezone of emperor.ini. */
class VassalServicesKeysTest {
    @TempDir
    Path dir;

    TestHost host;

    @BeforeEach
    void setUp() {
        host = new TestHost(dir);
    }

    @Test
    void cronAndDaemonLinesAreKeptInFileOrder() throws Exception {
        VassalConfig c = host.load("shop.ini", """
                [vassal]
                exec = sleep 1000
                cron = 59 2 -1 -1 -1 /usr/bin/backup --recursive
                daemon = redis-server --port 6379
                cron = @daily true
                daemon = memcached
                cron-timeout = 5m
                """);
        assertThat(c.cron()).extracting(j -> j.schedule().text()).containsExactly("59 2 -1 -1 -1", "@daily");
        assertThat(c.daemons()).extracting(d -> d.argv().get(0)).containsExactly("redis-server", "memcached");
        assertThat(c.cronTimeout()).isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void aCronLineThatDoesNotParseNamesFileLineKeyAndField() {
        assertThatThrownBy(() -> host.load("shop.ini", """
                [vassal]
                exec = sleep 1000
                cron = @daily true
                cron = 61 -1 -1 -1 -1 true
                """)).isInstanceOf(ConfigError.class)
                .hasMessageEndingWith("shop.ini:4: cron: bad minute field '61': 61 is out of range 0-59");
    }

    @Test
    void badTimeoutsAndEmptyDaemonsAreRefused() {
        assertThatThrownBy(() -> host.load("a.ini", "[vassal]\nexec = x\ncron-timeout = 0s\n"))
                .hasMessageContaining("a.ini:3: cron-timeout: '0s' is too short");
        assertThatThrownBy(() -> host.load("b.ini", "[vassal]\nexec = x\ndaemon = ''\n"))
                .hasMessageContaining("b.ini:3: daemon: no command");
    }

    @Test
    void onlyServiceLinesChangedIsTellable() throws Exception {
        VassalConfig a = host.load("s.ini", "[vassal]\nexec = x\ndaemon = redis-server\n");
        VassalConfig b = host.load("s.ini", "[vassal]\nexec = x\ndaemon = memcached\ncron = @daily true\n");
        VassalConfig c = host.load("s.ini", "[vassal]\nexec = y\ndaemon = memcached\n");
        assertThat(a.needsRestartFor(b)).isFalse();
        assertThat(b.needsRestartFor(c)).isTrue();
    }

    @Test
    void cronTimezoneIsReadAndCheckedInEmperorIni() throws Exception {
        Path ini = dir.resolve("emperor.ini");
        java.nio.file.Files.writeString(ini, "[emperor]\ncron-timezone = Europe/Berlin\n");
        assertThat(EmperorConfig.load(ini).cronTimezone()).isEqualTo(java.time.ZoneId.of("Europe/Berlin"));
        java.nio.file.Files.writeString(ini, "[emperor]\ncron-timezone = Mars/Olympus\n");
        assertThatThrownBy(() -> EmperorConfig.load(ini)).hasMessageContaining("emperor.ini:2: cron-timezone: unknown time zone");
        java.nio.file.Files.writeString(ini, "[emperor]\n");
        assertThat(EmperorConfig.load(ini).cronTimezone()).isEqualTo(java.time.ZoneId.systemDefault());
    }
}
