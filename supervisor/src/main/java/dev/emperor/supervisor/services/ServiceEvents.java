package dev.emperor.supervisor.services;

/** Where cron and daemon supervision report what they did: the event history and the tenant's log. */
public interface ServiceEvents {
    /** An entry in the tenant's event history ({@code emperor events NAME}). */
    void event(String detail);

    /** A line in the tenant's own log. */
    void note(String line);
}
