package dev.emperor.proxy.l4;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Hands out public ports to tenant services from a configured range.
 *
 * <p>The rules, and why: clients and firewalls out there remember a tenant's port, so
 * <ul>
 * <li>a (tenant, service) keeps its port forever: across reloads, emperor restarts (the
 *     allocator is rebuilt from the {@link PortLedger}) and even a range change;</li>
 * <li>a port, once given, is never given to anyone else, even after its service is removed
 *     or its tenant destroyed; a stranger must never receive traffic meant for another tenant;</li>
 * <li>a removed service keeps its port reserved ("released"), and gets it back if re-declared.</li>
 * </ul>
 * New ports are the lowest never-used port of the range. All methods are synchronized: the
 * ledger write and the in-memory update happen together, so two threads never get one port.
 */
public final class PortAllocator {

    private record Key(String tenant, String service) {}

    private final int lo;
    private final int hi;
    private final PortLedger ledger;
    private final Map<Key, PortAssignment> byKey = new HashMap<>();
    /** Every port ever recorded, inside the range or not. */
    private final BitSet everUsed = new BitSet(65536);

    /**
     * @param lo     lowest port of the range (1-65535)
     * @param hi     highest port of the range, {@code >= lo}
     * @param ledger durable store; every assignment in it is loaded now
     */
    public PortAllocator(int lo, int hi, PortLedger ledger) {
        if (lo < 1 || hi > 65535 || lo > hi) {
            throw new IllegalArgumentException("bad public port range " + lo + "-" + hi
                    + " (ports 1-65535, low <= high)");
        }
        this.lo = lo;
        this.hi = hi;
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        for (PortAssignment a : ledger.loadAll()) {
            if (everUsed.get(a.publicPort())) {
                throw new IllegalStateException("port ledger gives port " + a.publicPort() + " twice");
            }
            if (byKey.putIfAbsent(new Key(a.tenant(), a.service()), a) != null) {
                throw new IllegalStateException("port ledger gives " + a.tenant() + "/" + a.service() + " two ports");
            }
            everUsed.set(a.publicPort());
        }
    }

    /** The configured range as written in emperor.ini, e.g. "20000-29999". */
    public String range() {
        return lo + "-" + hi;
    }

    /**
     * The service's port: the one it always had, or the lowest never-used port of the range.
     * Marks it in use and stores a changed protocol.
     *
     * @throws PortRangeExhaustedException when the service is new and no port is left
     */
    public synchronized PortAssignment assign(String tenant, String service, ServiceProtocol protocol) {
        Objects.requireNonNull(protocol, "protocol");
        Key key = new Key(Objects.requireNonNull(tenant, "tenant"), Objects.requireNonNull(service, "service"));
        PortAssignment known = byKey.get(key);
        if (known != null) {
            if (known.released() || known.protocol() != protocol) {
                known = known.withState(protocol, false);
                ledger.update(known);
                byKey.put(key, known);
            }
            return known;
        }
        int port = everUsed.nextClearBit(lo);
        if (port > hi) {
            throw new PortRangeExhaustedException(lo, hi, tenant, service);
        }
        PortAssignment fresh = new PortAssignment(tenant, service, protocol, port, false);
        ledger.record(fresh); // first: if it fails, memory still matches the ledger
        everUsed.set(port);
        byKey.put(key, fresh);
        return fresh;
    }

    /**
     * Makes the tenant's assignments match its vassal file: every declared service gets its
     * port (in the map's order), every other service of the tenant is released.
     *
     * @param declared service name to protocol, as declared now
     * @return the declared services' assignments, in the map's order
     */
    public synchronized List<PortAssignment> reconcile(String tenant, Map<String, ServiceProtocol> declared) {
        List<PortAssignment> result = new ArrayList<>();
        for (Map.Entry<String, ServiceProtocol> e : declared.entrySet()) {
            result.add(assign(tenant, e.getKey(), e.getValue()));
        }
        for (PortAssignment a : List.copyOf(byKey.values())) {
            if (a.tenant().equals(tenant) && !declared.containsKey(a.service())) {
                release(a);
            }
        }
        return result;
    }

    /** Releases every service of a destroyed tenant; the ports stay reserved for it. */
    public synchronized void releaseTenant(String tenant) {
        for (PortAssignment a : List.copyOf(byKey.values())) {
            if (a.tenant().equals(tenant)) {
                release(a);
            }
        }
    }

    private void release(PortAssignment a) {
        if (!a.released()) {
            PortAssignment released = a.withState(a.protocol(), true);
            ledger.update(released);
            byKey.put(new Key(a.tenant(), a.service()), released);
        }
    }

    /** The tenant's assignments, released ones included, by service name (for status). */
    public synchronized List<PortAssignment> assignments(String tenant) {
        return byKey.values().stream()
                .filter(a -> a.tenant().equals(tenant))
                .sorted(Comparator.comparing(PortAssignment::service))
                .toList();
    }

    public synchronized Optional<PortAssignment> find(String tenant, String service) {
        return Optional.ofNullable(byKey.get(new Key(tenant, service)));
    }

    /** Ports of the range never given to anyone. */
    public synchronized int remaining() {
        int used = everUsed.get(lo, hi + 1).cardinality();
        return hi - lo + 1 - used;
    }
}
