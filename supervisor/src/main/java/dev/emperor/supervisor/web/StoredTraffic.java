package dev.emperor.supervisor.web;

import dev.emperor.proxy.TenantTraffic;
import dev.emperor.supervisor.state.StateStore;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the front proxy's per-tenant traffic counters ({@link TenantTraffic}) in the state
 * database, so they carry on across emperor restarts: hosts bill from them. The stored totals
 * are added back at start, before the proxy takes a connection; the live totals are written
 * every {@link #FLUSH_EVERY_SECONDS} seconds and at shutdown. A crash loses at most the
 * traffic of the last interval; a count never goes down.
 */
public final class StoredTraffic {
    private static final Logger log = LoggerFactory.getLogger(StoredTraffic.class);

    public static final long FLUSH_EVERY_SECONDS = 10;

    private final TenantTraffic traffic;
    private final StateStore store;
    /** What was last written, so an idle host writes nothing. */
    private Map<String, TenantTraffic.Totals> written = Map.of();

    private StoredTraffic(TenantTraffic traffic, StateStore store) {
        this.traffic = traffic;
        this.store = store;
    }

    /** Seeds {@code traffic} with the stored totals; call before the proxy accepts anything. */
    public static StoredTraffic restore(TenantTraffic traffic, StateStore store) {
        StoredTraffic stored = new StoredTraffic(traffic, store);
        Map<String, TenantTraffic.Totals> totals = store.traffic().web();
        totals.forEach(traffic::restore);
        stored.written = totals;
        return stored;
    }

    /** Writes the totals every {@link #FLUSH_EVERY_SECONDS} seconds on {@code timers}. */
    public void flushPeriodically(ScheduledExecutorService timers) {
        timers.scheduleWithFixedDelay(this::flushQuietly, FLUSH_EVERY_SECONDS, FLUSH_EVERY_SECONDS, TimeUnit.SECONDS);
    }

    /** Writes the tenants' totals that changed since the last write. */
    public synchronized void flush() {
        Map<String, TenantTraffic.Totals> now = traffic.all();
        Map<String, TenantTraffic.Totals> changed = new java.util.TreeMap<>();
        now.forEach((tenant, totals) -> {
            if (!totals.equals(written.get(tenant))) changed.put(tenant, totals);
        });
        store.traffic().recordWeb(changed);
        written = now;
    }

    /**
     * Forgets a purged tenant's counters (its stored row moves to its tombstone in the purge):
     * under the flush's lock, so no flush already under way writes them back under the name.
     */
    public synchronized void forget(String tenant) {
        traffic.forget(tenant);
        Map<String, TenantTraffic.Totals> kept = new java.util.HashMap<>(written);
        kept.remove(tenant);
        written = kept;
    }

    private void flushQuietly() {
        try {
            flush();
        } catch (RuntimeException e) {
            // A failed write (disk full) is retried at the next interval: the counts stay in memory.
            log.error("storing web traffic counters failed; retrying in {}s", FLUSH_EVERY_SECONDS, e);
        }
    }
}
