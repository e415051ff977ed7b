package dev.emperor.proxy.l4;

import dev.emperor.proxy.Upstream;

/**
 * A forward's counters at one moment (for {@code emperor status}).
 *
 * @param openConnections    client connections open now
 * @param totalConnections   client connections accepted since the forward opened
 * @param refusedConnections closed at once: over the limit, upstream unreachable, or (TLS) no
 *                           acceptable server name
 * @param bytesFromClients   bytes relayed client to tenant
 * @param bytesToClients     bytes relayed tenant to client
 */
public record ForwardStats(
        String tenant,
        String service,
        int publicPort,
        Upstream upstream,
        int openConnections,
        long totalConnections,
        long refusedConnections,
        long bytesFromClients,
        long bytesToClients) {}
