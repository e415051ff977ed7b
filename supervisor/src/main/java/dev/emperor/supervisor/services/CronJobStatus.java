package dev.emperor.supervisor.services;

/**
 * One cron job in {@code emperor status NAME}.
 *
 * @param line       the vassal file's value
 * @param nextRun    ISO-8601 instant of the next run, or null if none
 * @param pid        host pid of the running instance, 0 if not running
 * @param runs       runs started since the tenant started
 * @param skipped    slots skipped because the previous run was still going
 * @param lastResult how the last run ended, or null
 */
public record CronJobStatus(String line, String nextRun, int pid, int runs, int skipped, String lastResult) {}
