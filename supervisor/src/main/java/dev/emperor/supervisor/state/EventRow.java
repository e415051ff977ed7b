package dev.emperor.supervisor.state;

import java.time.Instant;

/** One entry of a vassal's event history. {@code detail} may be null. */
public record EventRow(long id, String name, Instant at, EventKind kind, String detail) {}
