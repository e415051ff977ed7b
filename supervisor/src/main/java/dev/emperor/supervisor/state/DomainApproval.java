package dev.emperor.supervisor.state;

import java.time.Instant;

/** The operator's leave for a tenant to claim a name outside {@code domain-allow} (and the names it covers). */
public record DomainApproval(String name, String tenant, Instant approvedAt) {
}
