package dev.emperor.supervisor.services;

/**
 * One attached daemon in {@code emperor status NAME}.
 *
 * @param index          its place among the file's daemon lines, from 1
 * @param command        the vassal file's value
 * @param pid            host pid, 0 while not running
 * @param uptimeSeconds  how long the current process has run
 * @param restarts       times it exited and was started again
 * @param lastExit       how the previous process ended, or null
 * @param retryInSeconds seconds until the next start while backing off, else 0
 */
public record DaemonStatus(int index, String command, int pid, long uptimeSeconds, int restarts, String lastExit,
        long retryInSeconds) {}
