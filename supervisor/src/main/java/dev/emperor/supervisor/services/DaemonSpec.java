package dev.emperor.supervisor.services;

import dev.emperor.supervisor.config.ShellWords;
import java.util.List;

/**
 * One {@code daemon = COMMAND} line of a vassal file: a helper (redis, memcached...) kept
 * running inside the tenant next to its main command. The command is split into words like
 * {@code exec}; the line as written identifies the daemon across reloads and restarts.
 */
public record DaemonSpec(String line, List<String> argv) {
    public DaemonSpec {
        argv = List.copyOf(argv);
    }

    /** @throws IllegalArgumentException if the value holds no command */
    public static DaemonSpec parse(String value) {
        List<String> argv = ShellWords.split(value.strip());
        if (argv.isEmpty() || argv.get(0).isEmpty()) throw new IllegalArgumentException("no command");
        return new DaemonSpec(value.strip(), argv);
    }
}
