package dev.emperor.supervisor.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ConfigErrorTest {
    private static final Path FILE = Path.of("/etc/emperor/vassals/app.ini");

    @Test
    void messageNamesFileLineKeyAndProblem() {
        assertThat(new ConfigError(FILE, 7, "memory", "too small").getMessage())
                .isEqualTo("/etc/emperor/vassals/app.ini:7: memory: too small");
    }

    @Test
    void absentLineAndKeyAreLeftOut() {
        assertThat(new ConfigError(FILE, 0, "exec", "missing").getMessage())
                .isEqualTo("/etc/emperor/vassals/app.ini: exec: missing");
        assertThat(new ConfigError(FILE, 3, null, "no '='").getMessage())
                .isEqualTo("/etc/emperor/vassals/app.ini:3: no '='");
        assertThat(new ConfigError(FILE, "file is larger than 1 MiB").getMessage())
                .isEqualTo("/etc/emperor/vassals/app.ini: file is larger than 1 MiB");
    }

    @Test
    void accessorsReturnTheParts() {
        ConfigError e = new ConfigError(FILE, 2, "cpu", "bad");
        assertThat(e.file()).isEqualTo(FILE);
        assertThat(e.line()).isEqualTo(2);
        assertThat(e.key()).isEqualTo("cpu");
        assertThat(e.problem()).isEqualTo("bad");
    }

    @Test
    void controlCharactersFromHostileInputCannotForgeLogLines() {
        ConfigError e = new ConfigError(FILE, 1, "ex\nec", "unknown key 'a\r\n2024 fake log line\u001b[31m'");
        assertThat(e.getMessage())
                .isEqualTo("/etc/emperor/vassals/app.ini:1: ex\\x0aec: unknown key 'a\\x0d\\x0a2024 fake log line\\x1b[31m'")
                .doesNotContain("\n", "\r", "\u001b");
    }

    @Test
    void quotedValuesAreCutShort() {
        assertThat(ConfigError.quote("x".repeat(1000))).hasSize(82).endsWith("...'");
        assertThat(ConfigError.quote("short")).isEqualTo("'short'");
    }
}
