package dev.emperor.proxy;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Per-tenant web and public-port traffic, counted on the event loops that carry it: hosts bill
 * from these. Each count is a {@link LongAdder} (no lock, and event loops adding at once
 * touch different cells); a tenant's counters are looked up once per request or connection.
 * What is counted (see proxy/README.md): requests routed to the tenant's site; request and
 * response body bytes relayed between client and app (after TLS and HTTP framing, so the same
 * for HTTP/1.1 and HTTP/2), WebSocket bytes after an upgrade; connections admitted to its
 * public ports and the bytes relayed each way. Counters only grow; {@link #restore} seeds them
 * with the totals an earlier emperor stored.
 */
public final class TenantTraffic {

    /** One tenant's live counters. */
    public static final class Counters {
        public final LongAdder requests = new LongAdder();
        /** Request bodies (and WebSocket bytes) from clients to the app. */
        public final LongAdder webBytesIn = new LongAdder();
        /** Response bodies (and WebSocket bytes) from the app to clients. */
        public final LongAdder webBytesOut = new LongAdder();
        public final LongAdder portConnections = new LongAdder();
        /** Bytes from clients of its public ports to the tenant. */
        public final LongAdder portBytesIn = new LongAdder();
        /** Bytes from the tenant to clients of its public ports. */
        public final LongAdder portBytesOut = new LongAdder();

        Totals totals() {
            return new Totals(requests.sum(), webBytesIn.sum(), webBytesOut.sum(), portConnections.sum(),
                    portBytesIn.sum(), portBytesOut.sum());
        }
    }

    /** A tenant's counts at one moment. */
    public record Totals(long requests, long webBytesIn, long webBytesOut, long portConnections, long portBytesIn,
            long portBytesOut) {
        public static final Totals ZERO = new Totals(0, 0, 0, 0, 0, 0);
    }

    private final Map<String, Counters> byTenant = new ConcurrentHashMap<>();

    /** The tenant's counters, made on first use. */
    public Counters of(String tenant) {
        Counters counters = byTenant.get(tenant); // the usual case: no allocation, no lock
        return counters != null ? counters : byTenant.computeIfAbsent(tenant, t -> new Counters());
    }

    /** Drops a tenant's counters (a purged tenant: a later one of the name starts from zero). */
    public void forget(String tenant) {
        byTenant.remove(tenant);
    }

    /** Adds totals stored by an earlier run, so the counters carry on from them. */
    public void restore(String tenant, Totals stored) {
        Counters c = of(tenant);
        c.requests.add(stored.requests());
        c.webBytesIn.add(stored.webBytesIn());
        c.webBytesOut.add(stored.webBytesOut());
        c.portConnections.add(stored.portConnections());
        c.portBytesIn.add(stored.portBytesIn());
        c.portBytesOut.add(stored.portBytesOut());
    }

    /** The tenant's totals ({@link Totals#ZERO} if it never had traffic). */
    public Totals totals(String tenant) {
        Counters counters = byTenant.get(tenant);
        return counters == null ? Totals.ZERO : counters.totals();
    }

    /** Every tenant's totals, by name. */
    public Map<String, Totals> all() {
        Map<String, Totals> all = new TreeMap<>();
        byTenant.forEach((tenant, counters) -> all.put(tenant, counters.totals()));
        return all;
    }
}
