package dev.emperor.supervisor.lifecycle;

import java.time.Duration;

/** The emperor.ini settings a vassal reads, as they are now (emperor.ini is re-read on SIGHUP). */
public interface LifecycleSettings {
    /** How long a payload has between SIGTERM and SIGKILL. */
    Duration stopGrace();

    /** The longest back-off delay between respawns. */
    Duration backoffMax();

    /** How long a removed tenant's identity stays reserved for its name. */
    Duration retain();
}
