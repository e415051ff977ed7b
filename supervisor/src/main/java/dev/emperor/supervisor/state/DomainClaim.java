package dev.emperor.supervisor.state;

import java.time.Instant;

/** A host name (or {@code *.} wildcard) held by a tenant since its first claim. */
public record DomainClaim(String name, String owner, Instant claimedAt) {
}
