package dev.emperor.supervisor.cli;

import dev.emperor.supervisor.config.ConfigError;
import dev.emperor.supervisor.config.EmperorConfig;
import dev.emperor.supervisor.control.CheckText;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The -c/--config option every command shares; a missing default file means built-in defaults. */
public final class ConfigOption {
    public static final Path DEFAULT = CheckText.DEFAULT_CONFIG;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
            description = "emperor.ini to use (default: ${DEFAULT-VALUE}; built-in defaults if it does not exist)",
            defaultValue = "/etc/emperor/emperor.ini")
    Path file;

    public Path file() {
        return file;
    }

    public EmperorConfig load() throws ConfigError {
        return CheckText.loadConfig(file); // the daemon's `check` loads a -c file the same way
    }
}
