package dev.emperor.proxy;

import java.util.List;
import java.util.Objects;

/**
 * One tenant's web site as the front proxy sees it, built by the supervisor from the
 * tenant's vassal file and replaced whole when that file changes.
 *
 * @param tenant             the vassal name (also names its access log)
 * @param domains            host names it answers, lower case; {@code *.example.com} matches
 *                           any name below example.com (not example.com itself)
 * @param app                where requests go
 * @param maintenanceBackend where requests go while in maintenance, or null for the
 *                           proxy's own maintenance page
 * @param maintenance        maintenance mode: 503 + Retry-After (or the maintenance backend)
 * @param redirectToHttps    answer plain HTTP with a 308 to the https:// URL
 * @param maxBodyBytes       largest request body accepted (413 beyond)
 * @param maxConnections     most client connections open at once for this tenant
 */
public record TenantSite(
        String tenant,
        List<String> domains,
        Upstream app,
        Upstream maintenanceBackend,
        boolean maintenance,
        boolean redirectToHttps,
        long maxBodyBytes,
        int maxConnections) {

    public TenantSite {
        Objects.requireNonNull(tenant, "tenant");
        Objects.requireNonNull(app, "app");
        domains = List.copyOf(domains);
        if (maxBodyBytes < 0 || maxConnections < 1) {
            throw new IllegalArgumentException("bad limits for " + tenant);
        }
    }
}
