package dev.emperor.supervisor.state;

import java.time.Instant;

/**
 * What the emperor remembers about one vassal between its own restarts.
 *
 * @param name         the vassal's name (its file name without .ini)
 * @param uid          uid of the last spawned jail, -1 before the first spawn
 * @param gid          gid of the last spawned jail, -1 before the first spawn
 * @param configHash   hash of the vassal file the running jail was started from, or null
 * @param desired      whether the operator wants it running
 * @param pid          host pid of the jail's pid 1, 0 when no process is recorded
 * @param pidStartTime that process's start time in clock ticks since boot (field 22 of
 *                     /proc/PID/stat), 0 when no process is recorded; together with the pid it
 *                     identifies the process even after the pid number is reused
 * @param startedAt    when the recorded process was spawned, or null
 * @param restarts     how many exits counted as restarts (crashes, not operator stops)
 * @param lastExit     how the last process ended ("exited 1", "killed by signal 9"), or null
 * @param lastError    the current problem (bad file, failed spawn), or null when healthy
 * @param updatedAt    when this row last changed
 */
public record VassalRow(
        String name,
        int uid,
        int gid,
        String configHash,
        Desired desired,
        int pid,
        long pidStartTime,
        Instant startedAt,
        int restarts,
        String lastExit,
        String lastError,
        Instant updatedAt) {

    /** True when a spawned process is recorded (it may have died while the emperor was down). */
    public boolean hasProcess() {
        return pid > 0;
    }
}
