package dev.emperor.supervisor.state;

/** A tenant's attached daemon as recorded: its pid and that process's start time (to recognise it again). */
public record RecordedDaemon(int pid, long startTime) {}
