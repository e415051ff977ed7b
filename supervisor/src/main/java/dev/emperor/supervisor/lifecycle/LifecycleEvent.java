package dev.emperor.supervisor.lifecycle;

/**
 * What can happen to a vassal. The file events are told apart before the table (see
 * {@link Vassal}): the table decides what to do, not what the new file means.
 */
public enum LifecycleEvent {
    /** A valid file that needs a new payload (or the first valid file). */
    FILE_CHANGED,
    /** The same bytes again (a rescan, a touch). */
    FILE_UNCHANGED,
    /** Only lines a running payload takes without a restart changed (firewall, net-rate, web, cron, daemons). */
    FILE_LIVE_CHANGE,
    /** The first file read after an emperor restart is the one the adopted payload was started from. */
    FILE_MATCHES_ADOPTED,
    /** The file is invalid. */
    FILE_INVALID,
    /** The file was deleted. */
    FILE_REMOVED,
    /** A live payload found after an emperor restart. */
    ADOPTED,
    /** `emperor start`. */
    START,
    /** `emperor stop`. */
    STOP,
    /** `emperor reload`. */
    RELOAD,
    /** The emperor is exiting. */
    SHUTDOWN,
    /** The payload exited after a short run (a crash, for the back-off). */
    EXITED,
    /** The payload exited after running long enough to count as healthy. */
    EXITED_AFTER_STABLE_RUN,
    /** The grace period after SIGTERM is over. */
    GRACE_OVER,
    /** The back-off delay is over. */
    RETRY_DUE,
    /** The spawn started a payload. */
    SPAWNED,
    /** The spawn failed (jail, configuration, anything unexpected). */
    SPAWN_FAILED,
    /** The spawn could not record the tenant's identity: the state directory refuses writes. */
    SPAWN_REFUSED,
    /** The state directory takes writes again. */
    STATE_WRITABLE,
    /** An effect threw (a bug, or a resource failing where nothing expected it). */
    HANDLER_FAILED;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
