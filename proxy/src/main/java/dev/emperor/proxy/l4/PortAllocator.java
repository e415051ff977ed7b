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
 * New ports are the lowest never-used port of the range. A tenant holds at most its
 * {@link PortLimits} cap of ports, counting released ones: they stay its own for good, so
 * without that a tenant could drain the range by removing and adding {@code port} lines.
 * All methods are synchronized: the
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
    /** Per tenant: how many ports it holds, released ones included (what the cap counts). */
    private final Map<String, Integer> held = new HashMap<>();
    private PortLimits limits = PortLimits.DEFAULT;

    /**
     * What {@link #reconcile} did: the declared services that have their port, and a message for
     * each one refused (over the tenant's cap, or the range used up).
     */
    public record Reconciled(List<PortAssignment> assigned, List<String> refused) {
        public Reconciled {
            assigned = List.copyOf(assigned);
            refused = List.copyOf(refused);
        }
    }

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
            held.merge(a.tenant(), 1, Integer::sum);
        }
    }

    /** The operator's caps (emperor.ini); they apply to the next ports asked for. */
    public synchronized void setLimits(PortLimits limits) {
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    /** The configured range as written in emperor.ini, e.g. "20000-29999". */
    public String range() {
        return lo + "-" + hi;
    }

    /**
     * The service's port: the one it always had, or the lowest never-used port of the range.
     * Marks it in use and stores a changed protocol.
     *
     * @throws PortLimitExceededException when the service is new and the tenant holds its cap
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
        int holds = held.getOrDefault(key.tenant(), 0);
        int limit = limits.of(key.tenant());
        if (holds >= limit) {
            List<String> released = byKey.values().stream()
                    .filter(a -> a.tenant().equals(key.tenant()) && a.released())
                    .map(PortAssignment::service).sorted().toList();
            throw new PortLimitExceededException(tenant, service, holds, limit, released);
        }
        int port = everUsed.nextClearBit(lo);
        if (port > hi) {
            throw new PortRangeExhaustedException(lo, hi, tenant, service);
        }
        PortAssignment fresh = new PortAssignment(tenant, service, protocol, port, false);
        ledger.record(fresh); // first: if it fails, memory still matches the ledger
        everUsed.set(port);
        held.merge(key.tenant(), 1, Integer::sum);
        byKey.put(key, fresh);
        return fresh;
    }

    /**
     * Makes the tenant's assignments match its vassal file: every declared service gets its
     * port (in the map's order) unless it is refused, every other service of the tenant is
     * released. A refused service does not disturb the others: they keep their ports.
     *
     * @param declared service name to protocol, as declared now
     * @return the declared services' assignments, in the map's order, and the refusals
     */
    public synchronized Reconciled reconcile(String tenant, Map<String, ServiceProtocol> declared) {
        for (PortAssignment a : List.copyOf(byKey.values())) {
            if (a.tenant().equals(tenant) && !declared.containsKey(a.service())) {
                release(a);
            }
        }
        List<PortAssignment> assigned = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        for (Map.Entry<String, ServiceProtocol> e : declared.entrySet()) {
            try {
                assigned.add(assign(tenant, e.getKey(), e.getValue()));
            } catch (PortLimitExceededException | PortRangeExhaustedException refusal) {
                refused.add(refusal.getMessage());
            } catch (RuntimeException notRecorded) {
                // The ledger could not record it (a full state directory): this service waits
                // without a port, the others keep theirs; the caller reconciles again later.
                refused.add("port " + e.getKey() + ": could not be recorded: " + notRecorded.getMessage());
            }
        }
        return new Reconciled(assigned, refused);
    }

    /** Releases every service of a destroyed tenant; the ports stay reserved for it. */
    public synchronized void releaseTenant(String tenant) {
        for (PortAssignment a : List.copyOf(byKey.values())) {
            if (a.tenant().equals(tenant)) {
                release(a);
            }
        }
    }

    /**
     * The tenant was purged: its name no longer holds its ports (a later tenant of that name
     * starts with none and a full cap), and they stay used, never handed to anyone. The ledger
     * has moved them to a label no tenant can have already.
     */
    public synchronized void forgetTenant(String tenant) {
        byKey.values().removeIf(a -> a.tenant().equals(tenant));
        held.remove(tenant);
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
