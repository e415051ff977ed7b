package dev.emperor.supervisor.services;

import dev.emperor.supervisor.config.ShellWords;
import java.util.List;

/**
 * One {@code cron = SCHEDULE COMMAND} line of a vassal file: five schedule fields (or a macro)
 * followed by the command, split into words like {@code exec} (no shell unless it asks for
 * one: {@code sh -c '...'}).
 *
 * @param line     the whole value as written, which also identifies the job across reloads
 * @param schedule when it runs
 * @param argv     what it runs
 */
public record CronJob(String line, CronSchedule schedule, List<String> argv) {
    public CronJob {
        argv = List.copyOf(argv);
    }

    /**
     * Parses the value of a {@code cron} key.
     *
     * @throws IllegalArgumentException saying what is wrong, naming the schedule field if it is one
     */
    public static CronJob parse(String value) {
        String text = value.strip();
        int fields = text.startsWith("@") ? 1 : 5;
        String[] parts = text.split("\\s+", fields + 1);
        if (parts.length <= fields || parts[fields].isBlank()) {
            throw new IllegalArgumentException(fields == 1
                    ? "expected '@macro COMMAND', found no command"
                    : "expected 'MINUTE HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK COMMAND' (uWSGI: -1 = any, -N = every N),"
                            + " found " + Math.min(parts.length, fields) + " schedule field(s) and no command");
        }
        CronSchedule schedule = CronSchedule.parse(String.join(" ", java.util.Arrays.copyOf(parts, fields)));
        List<String> argv = ShellWords.split(parts[fields]);
        if (argv.isEmpty() || argv.get(0).isEmpty()) throw new IllegalArgumentException("no command after the schedule");
        return new CronJob(text, schedule, argv);
    }
}
