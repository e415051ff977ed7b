package dev.emperor.supervisor.state;

import java.time.Instant;

/** A tenant's failed ACME issuances in a row, and the earliest time the next may be tried. */
public record AcmeRetry(int failures, Instant notBefore) {}
