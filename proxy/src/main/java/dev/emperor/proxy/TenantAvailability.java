package dev.emperor.proxy;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Which tenants' apps cannot answer now (stopped, starting, backing off), told by the
 * supervisor as its tenants change state. Their sites get a 503 at once instead of a 502 after
 * a connect timeout: a TCP upstream on a stopped tenant's address answers nothing, so each
 * client used to wait the whole upstream connect timeout. Tenants not named here are up.
 */
public final class TenantAvailability {
    /** Tenant -> Retry-After in seconds, 0 for none (stopped: nobody knows when it returns). */
    private final ConcurrentHashMap<String, Integer> down = new ConcurrentHashMap<>();

    /** The tenant's app cannot answer; {@code retryAfterSeconds} 0 sends no Retry-After. */
    public void down(String tenant, int retryAfterSeconds) {
        down.put(tenant, Math.max(0, retryAfterSeconds));
    }

    /** The tenant's app runs (or the tenant is gone, with its site). */
    public void up(String tenant) {
        down.remove(tenant);
    }

    /** -1 while the tenant is up, else the Retry-After to send (0: none). */
    public int retryAfter(String tenant) {
        if (down.isEmpty()) return -1; // the usual case costs no hash lookup
        Integer seconds = down.get(tenant);
        return seconds == null ? -1 : seconds;
    }
}
