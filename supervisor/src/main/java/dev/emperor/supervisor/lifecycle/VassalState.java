package dev.emperor.supervisor.lifecycle;

/** The states of one tenant, s6-style: explicit, printable, nothing hidden. */
public enum VassalState {
    /** The jail is being set up and the payload exec'd. */
    STARTING,
    /** The payload runs. */
    RUNNING,
    /** A new configuration arrived: the old payload is being stopped, the new one follows. */
    RELOADING,
    /** SIGTERM sent; SIGKILL to the whole cgroup follows after the grace period. */
    STOPPING,
    /** Not running, on purpose (stopped by the operator or not yet started). */
    STOPPED,
    /** The payload died or could not start; it is restarted when the back-off delay ends. */
    BACKING_OFF,
    /** The vassal file is invalid: nothing runs until it is fixed. */
    FAILED;

    public String label() {
        return name().toLowerCase().replace('_', '-');
    }
}
