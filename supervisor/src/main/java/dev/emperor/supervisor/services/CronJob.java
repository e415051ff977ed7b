package dev.emperor.supervisor.services;

import java.util.List;

/**
 * One {@code cron = SCHEDULE COMMAND} line of a vassal file: five schedule fields (or a macro)
 * followed by the command, which the tenant's own {@code /bin/sh -c} runs, as crontab and
 * uWSGI's {@code cron} do: {@code cd /x && ./y > log} means what it says in a crontab.
 *
 * @param line     the whole value as written, which also identifies the job across reloads
 * @param schedule when it runs
 * @param argv     what it runs: {@code /bin/sh -c COMMAND}
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
        return new CronJob(text, schedule, List.of("/bin/sh", "-c", parts[fields]));
    }
}
