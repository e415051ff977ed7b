package dev.emperor.supervisor.lifecycle;

/**
 * What {@link Vassal} does for a transition, in the order the table lists them. Each is one
 * short step on the vassal's own data and services; none decides anything.
 */
public enum Effect {
    /** First file event: the store says whether the name is a new, restored or known tenant. */
    ARRIVE,
    /** Keep the new valid configuration, clear the file error, apply its live settings (site, ports, firewall). */
    TAKE_FILE,
    /** Keep and show the file's error. */
    TAKE_ERROR,
    /** Forget the last valid configuration. */
    DROP_CONFIG,
    /** The file came back while the removed tenant stops: its successor gets it first. */
    KEEP_FILE_FOR_SUCCESSOR,
    /** The file went again (or the emperor is exiting): the successor gets nothing. */
    DROP_FILE_FOR_SUCCESSOR,
    /** Start the adopted payload's cron jobs and daemons. */
    START_ADOPTED_SERVICES,
    /** Record the new hash and apply the changed cron and daemon lines to the running payload. */
    APPLY_WITHOUT_RESTART,
    /** Record this event in the tenant's event log. */
    RECORD_EVENT,
    /** Record whether the operator wants it running. */
    PERSIST_WANTED,
    /** Forget past quick failures. */
    RESET_BACKOFF,
    /** Cancel the timer. */
    CANCEL_TIMER,
    /** Kill what an earlier emperor left in the tenant's cgroup. */
    KILL_LEFTOVERS,
    /** Hold the adopted payload. */
    TAKE_PAYLOAD,
    /** Watch the payload's exit. */
    WATCH,
    /** Stop the payload's cron jobs and daemons. */
    STOP_SERVICES,
    /** SIGTERM the payload and time the grace period. */
    TERMINATE,
    /** SIGKILL every process in the tenant's cgroup. */
    KILL,
    /** Set up the jail and exec the payload; its result is the next event. */
    SPAWN,
    /** Hold the payload the spawn started. */
    TAKE_SPAWNED,
    /** Record the spawn in the store, the event log and the tenant's log. */
    RECORD_SPAWN,
    /** Start the payload's cron jobs and daemons. */
    START_SERVICES,
    /** Record and show why the spawn failed. */
    REPORT_SPAWN_FAILURE,
    /** Still waiting for the state directory: keep the reason, say nothing new. */
    NOTE_SPAWN_FAILURE_QUIETLY,
    /** Record and show the effect that threw. */
    REPORT_HANDLER_FAILURE,
    /** Time a respawn after the next back-off delay. */
    BACK_OFF,
    /** Time a respawn in a second (waiting for the state directory). */
    RETRY_SOON,
    /** Let the exited payload go: OOM count, exit status, its services, its cgroup. */
    REAP,
    /** Record the exit (a stop the emperor asked for). */
    RECORD_EXIT,
    /** Record the exit as a crash (counts as a restart). */
    RECORD_CRASH,
    /** Remove the tenant's cgroup, disk mount, runtime files, site and ports. */
    CLEAN_UP_REMOVED,
    /** Retire the tenant: its identity stays reserved for its name until retention ends. */
    RETIRE,
    /** Release its disk image's mount. */
    RELEASE_DISK,
    /** Show the new state and its reason (tells the front proxy and the status directory). */
    STATE,
    /** Hand the vassal back to the emperor, with the file kept for its successor if any. */
    FORGET;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
