package dev.emperor.supervisor.lifecycle;

import java.io.IOException;

/** The tenant's own log, as its vassal uses it: lines saying what the emperor did, and its health. */
public interface TenantNotes {
    void append(String name, String line) throws IOException;

    /** Why the tenant's log cannot be written now, or null. */
    String problem(String name);

    /** Lines dropped because the log could not be written. */
    long droppedLines(String name);
}
