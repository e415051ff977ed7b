package dev.emperor.supervisor.services;

import java.util.Map;

/**
 * Where a tenant's running daemons are remembered (the state database), so that an emperor
 * restarted with on-exit = leave re-adopts them instead of starting a second copy.
 * Keys are the daemon's line, with " #N" for the N-th repeat of an identical line.
 */
public interface DaemonRecords {
    /** A started process, recorded before anything else can happen to it. */
    record Process(int pid, long startTime) {}

    void started(String key, int pid, long startTime);

    void ended(String key);

    /** Everything recorded for this tenant. */
    Map<String, Process> recorded();

    /** Forgets every record of this tenant (its daemons died with it). */
    void clear();
}
