package dev.emperor.supervisor.state;

/** What happened to a vassal; kept in its event history ({@code emperor events NAME}). */
public enum EventKind {
    /** A new jail was started for the vassal. */
    SPAWN,
    /** The vassal's main process ended. */
    EXIT,
    /** The vassal was restarted because its file changed. */
    RELOAD,
    /** The operator asked the vassal to stop. */
    STOP,
    /** The operator asked a stopped vassal to run. */
    START,
    /** Something went wrong (bad file, failed spawn, ...). */
    ERROR,
    /** A restarted emperor took over a vassal that kept running. */
    ADOPT,
    /** The vassal's file appeared, changed or was removed. */
    CONFIG,
    /** A cron job was skipped, failed, or went over its time limit. */
    CRON,
    /** An attached daemon exited, was restarted, re-adopted or stopped. */
    DAEMON,
    /** A certificate was issued or renewed by ACME, or an issuance failed. */
    CERT,
    /** A domain was claimed, refused (with its owner), released, transferred or approved. */
    DOMAIN,
    /**
     * Which tenant the name is: "retired" (file removed, identity and data kept), "restored (same
     * tenant)", "purged", "new tenant (fresh identity)".
     */
    IDENTITY;

    /** The value kept in the database. */
    String stored() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    static EventKind fromStored(String value) {
        return valueOf(value.toUpperCase(java.util.Locale.ROOT));
    }
}
