package dev.emperor.supervisor.lifecycle;

import dev.emperor.jail.TenantProcess;

/** A tenant's running pid 1, as its vassal sees it. */
public interface Payload {
    int pid();

    long startTime();

    /** Sends a signal; false if the payload has exited already (its exit is reported separately). */
    boolean signal(int sig);

    /** Done with it (its exit has been handled). */
    void close();

    /** The jail's handle, for the shell entry; null for a payload that is not a jailed process (tests). */
    TenantProcess process();
}
