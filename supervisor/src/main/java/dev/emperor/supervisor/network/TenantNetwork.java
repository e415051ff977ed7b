package dev.emperor.supervisor.network;

import dev.emperor.jail.JailException;
import dev.emperor.jail.NetworkHook;
import dev.emperor.supervisor.state.StateException;
import dev.emperor.supervisor.state.StateStore;
import dev.emperor.supervisor.state.TrafficTotals;
import dev.emperor.tunrouter.AddressPool;
import dev.emperor.tunrouter.Cidr;
import dev.emperor.tunrouter.Firewall;
import dev.emperor.tunrouter.FirewallRules;
import dev.emperor.tunrouter.HostService;
import dev.emperor.tunrouter.NatTable;
import dev.emperor.tunrouter.NetnsThread;
import dev.emperor.tunrouter.NetworkSetupException;
import dev.emperor.tunrouter.PacketPump;
import dev.emperor.tunrouter.PublicListener;
import dev.emperor.tunrouter.Router;
import dev.emperor.tunrouter.TenantCounters;
import dev.emperor.tunrouter.TenantSubnet;
import dev.emperor.tunrouter.TunDevice;
import dev.emperor.tunrouter.Verdict;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every tenant's way to the network, owned by the emperor: the gateway tun in the host
 * namespace, one {@link Router} with the built-in firewall, the {@link PacketPump} between the
 * gateway and each running tenant's {@code tun0}, outbound NAT ({@link NatTable}) and the
 * tenants' stable addresses ({@link AddressPool} on the state database).
 *
 * <p>A tenant's {@code tun0} is made persistent: when the emperor dies, the device stays in the
 * tenant's network namespace (with its address and route), and the next emperor re-opens it by
 * name from inside that namespace. It dies with the namespace, i.e. with the tenant. The
 * gateway is not persistent: it dies with the emperor, and the routes to the subnet with it.
 * The NAT table stays when the emperor exits (it only matches the subnet) and is replaced
 * atomically at the next start.
 *
 * <p>A tenant's traffic totals are kept in the state database ({@code traffic}), so they only
 * ever grow: the router's counters start from zero at each attach, and the totals before it
 * are added. They are written when a tun0 is detached, by {@link #flushCounters} (periodically
 * and at close) and before {@link #traffic} shows them, so a number once shown is on disk and
 * never shown lower, even after a kill -9 (which loses only traffic no one was shown).
 */
public final class TenantNetwork implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TenantNetwork.class);
    private static final String TENANT_INTERFACE = "tun0";
    /**
     * 1500 on purpose: with offloads TCP already moves 64 KiB per frame (a larger MTU measured no
     * faster, bench/tun-routers.py), and a tenant's tun0 MTU is what its UDP and its TCP MSS
     * assume of the path to the internet.
     */
    private static final int MTU = 1500;
    private static final int MAX_PACKET = 65535;
    /**
     * Frames the kernel may hold for the pump on a tun before it drops: a tenant's own burst, and
     * on the gateway every tenant's inbound traffic together. With TCP in 64 KiB super-packets
     * few slots are used; the depth is headroom for bursts of small packets while the pump
     * thread waits for a CPU, since a full queue is a silent drop in the kernel.
     */
    private static final int TENANT_TX_QUEUE_LENGTH = 4096;
    private static final int GATEWAY_TX_QUEUE_LENGTH = 10000;
    private static final int QUEUE_FRAMES = 256;

    private final TenantSubnet subnet;
    private final StateStore store;
    private final AddressPool addresses;
    private final TunDevice gateway;
    private final Firewall firewall;
    private final Router router;
    private final PacketPump pump;
    private final Map<String, Attached> attached = new ConcurrentHashMap<>();
    /** Each tenant's own rules from its vassal file (firewall-out/-in), kept while it is detached too. */
    private final Map<String, FirewallRules> tenantRules = new ConcurrentHashMap<>();
    /** Each tenant's net-rate in bytes per second (absent = none), kept while it is detached too. */
    private final Map<String, Long> tenantRates = new ConcurrentHashMap<>();
    private final NatTable nat;
    /** What the kernel table opens now (both are installed together, in one transaction). */
    private List<HostService> hostServices;
    private List<PublicListener> publicListeners = List.of();
    /** Set by {@link #removeKernelRules}: no later change may bring the table back. */
    private boolean kernelRulesRemoved;
    /** Each tenant's totals before its current attachment (guarded by this). */
    private final Map<String, TrafficTotals> earlierTraffic = new HashMap<>();
    /** The totals last written for each tenant, so an idle tenant costs no write (guarded by this). */
    private final Map<String, TrafficTotals> recordedTraffic = new HashMap<>();

    private record Attached(int id, TunDevice tun) {}

    /**
     * A tenant's traffic for status: its address, its packets and bytes for good (as on the wire,
     * across restarts and re-attaches), and the drops since its tun0 was last attached.
     * {@code dropsByReason}: the non-zero drop counts by reason, named in lower case ("over-rate").
     */
    public record Traffic(String address, long packetsIn, long packetsOut, long bytesIn, long bytesOut, long drops,
            Map<String, Long> dropsByReason) {}

    private TenantNetwork(TenantSubnet subnet, FirewallRules rules, StateStore store, TunDevice gateway, NatTable nat,
            List<HostService> hostServices) {
        this.subnet = subnet;
        this.nat = nat;
        this.hostServices = List.copyOf(hostServices);
        this.store = store;
        this.addresses = new AddressPool(subnet, new StoredAddresses(store));
        this.gateway = gateway;
        // uWSGI's default: what no rule matches passes (Emperor's built-in denials come first)
        this.firewall = new Firewall(subnet, rules, Verdict.ALLOW);
        // Frames carry a virtio header (TunDevice) and may be TCP super-packets up to 64 KiB.
        this.router = new Router(firewall, MAX_PACKET, true, true);
        this.pump = new PacketPump(router, gateway.fd(), QUEUE_FRAMES);
    }

    /**
     * Installs NAT and the host's protection ({@code hostServices} open at the gateway), creates
     * the gateway {@code gatewayName} with the subnet's first address and starts the pump. Fails
     * (naming the step, e.g. a missing nft) before anything runs.
     */
    public static TenantNetwork start(Cidr subnetCidr, String gatewayName, FirewallRules rules,
            List<HostService> hostServices, StateStore store) {
        TenantSubnet subnet = new TenantSubnet(subnetCidr);
        NatTable nat = NatTable.named(gatewayName);
        nat.install(subnet, gatewayName, hostServices);
        // Also loads the tun binding (and JNA's cleaner) on this ordinary thread, never first on a spawn thread.
        TunDevice gateway = TunDevice.create(gatewayName);
        try {
            gateway.configure(subnet.gateway(), subnetCidr.prefixLength(), MTU, GATEWAY_TX_QUEUE_LENGTH);
            TenantNetwork network = new TenantNetwork(subnet, rules, store, gateway, nat, hostServices);
            log.info("network: gateway {} {}/{}, NAT table ip {}", gatewayName, Cidr.format(subnet.gateway()),
                    subnetCidr.prefixLength(), nat.table());
            return network;
        } catch (RuntimeException e) {
            gateway.close();
            throw e;
        }
    }

    /**
     * The tenant's address (allocated on first use) and the hook that makes its {@code tun0}
     * in its new network namespace; after the spawn, {@link #attach} it, or {@link Tun#discard}.
     */
    public Tun prepare(String tenant) {
        return new Tun(addresses.addressFor(tenant), subnet.cidr().prefixLength(), subnet.gateway());
    }

    /**
     * The tenant's address as a dotted quad, allocated on first use (the same one its tun0
     * gets): the proxy routes to it before the tenant's first spawn.
     */
    public String addressOf(String tenant) {
        return Cidr.format(addresses.addressFor(tenant));
    }

    /** The tun0 of a tenant being spawned; made on the spawn thread, inside the tenant's netns. */
    public static final class Tun implements NetworkHook {
        private final int address;
        private final int prefixLength;
        private final int gateway;
        private volatile TunDevice device;

        private Tun(int address, int prefixLength, int gateway) {
            this.address = address;
            this.prefixLength = prefixLength;
            this.gateway = gateway;
        }

        @Override
        public void inTenantNetns() {
            try {
                TunDevice tun = TunDevice.create(TENANT_INTERFACE);
                device = tun;
                // Persistent, so that an emperor restart can re-open it without touching the tenant.
                tun.makePersistent();
                tun.configure(address, prefixLength, MTU, TENANT_TX_QUEUE_LENGTH);
                tun.addDefaultRoute(gateway);
            } catch (NetworkSetupException e) {
                throw new JailException("network", e.getMessage(), e);
            }
        }

        /** Closes the descriptor of a tun0 that will not be attached (the spawn failed). */
        public void discard() {
            TunDevice tun = device;
            if (tun != null) tun.close();
        }
    }

    /** Routes the freshly spawned tenant's packets through its tun0. */
    public void attach(String tenant, Tun tun) {
        if (tun.device == null) throw new IllegalStateException("tenant " + tenant + ": tun0 was never made");
        attach(tenant, tun.address, tun.device);
    }

    /**
     * After an emperor restart: re-opens the adopted tenant's persistent tun0 from inside its
     * network namespace (that of its pid 1) and routes its packets again.
     */
    public void reattach(String tenant, int pid) throws InterruptedException {
        int address = store.addresses().of(tenant).orElseThrow(() ->
                new IllegalStateException("tenant " + tenant + " has no recorded address"));
        TunDevice tun = NetnsThread.call(Path.of("/proc/" + pid + "/ns/net"), () -> TunDevice.create(TENANT_INTERFACE));
        try {
            attach(tenant, address, tun);
        } catch (RuntimeException e) {
            tun.close();
            throw e;
        }
    }

    private synchronized void attach(String tenant, int address, TunDevice tun) {
        detach(tenant); // a stale attachment of an earlier payload
        earlierTraffic(tenant); // read before the router counts anything new
        int id = router.attach(tenant, address, tenantRules.getOrDefault(tenant, FirewallRules.NONE));
        try {
            pump.setRate(id, tenantRates.getOrDefault(tenant, 0L)); // always: the id may have been another tenant's
            pump.attach(id, tun.fd());
        } catch (RuntimeException e) {
            router.detach(id);
            throw e;
        }
        attached.put(tenant, new Attached(id, tun));
    }

    /** The tenant's payload is gone: stop routing for it and close its tun0. */
    public synchronized void detach(String tenant) {
        Attached a = attached.remove(tenant);
        if (a == null) return;
        TenantCounters counters = router.counters(a.id());
        try {
            pump.detach(a.id());
            router.detach(a.id());
        } finally {
            a.tun().close();
        }
        // nothing counts on these any more: fold them into the totals for good
        earlierTraffic.put(tenant, plus(earlierTraffic(tenant), counters.snapshot()));
        record(tenant, earlierTraffic.get(tenant));
    }

    /**
     * Forgets a purged tenant's totals kept in memory (its stored ones move to its tombstone in
     * the same purge), so a later tenant of the name counts from zero. It is not attached.
     */
    public synchronized void forgetTraffic(String tenant) {
        earlierTraffic.remove(tenant);
        recordedTraffic.remove(tenant);
    }

    /** The tenant's totals before its current attachment: from the state database the first time. */
    private TrafficTotals earlierTraffic(String tenant) {
        TrafficTotals known = earlierTraffic.get(tenant);
        if (known != null) return known;
        TrafficTotals stored = store.traffic().network(tenant).orElse(TrafficTotals.ZERO);
        earlierTraffic.put(tenant, stored);
        recordedTraffic.put(tenant, stored);
        return stored;
    }

    private static TrafficTotals plus(TrafficTotals totals, TenantCounters.Snapshot c) {
        return totals.plus(c.packetsIn(), c.packetsOut(), c.bytesIn(), c.bytesOut());
    }

    /** Writes the tenant's totals unless they are what was last written; a failure is logged, never thrown. */
    private void record(String tenant, TrafficTotals totals) {
        if (totals.equals(recordedTraffic.get(tenant))) return;
        try {
            store.traffic().recordNetwork(tenant, totals);
            recordedTraffic.put(tenant, totals);
        } catch (StateException e) {
            log.warn("network: cannot record the traffic totals of {}: {}", tenant, e.getMessage());
        }
    }

    /** Writes every attached tenant's totals that changed since they were last written (periodically, and at close). */
    public synchronized void flushCounters() {
        for (Map.Entry<String, Attached> e : attached.entrySet()) {
            try {
                record(e.getKey(), plus(earlierTraffic(e.getKey()), router.counters(e.getValue().id()).snapshot()));
            } catch (RuntimeException failure) {
                log.warn("network: cannot flush the traffic totals of {}: {}", e.getKey(), failure.getMessage());
            }
        }
    }

    /**
     * Address, totals and drops for status; empty if the tenant never had an address. The totals
     * are written before they are returned, so no later status (even after a crash) shows less.
     */
    public synchronized Optional<Traffic> traffic(String tenant) {
        Optional<Integer> address = store.addresses().of(tenant);
        if (address.isEmpty()) return Optional.empty();
        Attached a = attached.get(tenant);
        TenantCounters.Snapshot c = a == null ? null : router.counters(a.id()).snapshot();
        TrafficTotals totals = c == null ? earlierTraffic(tenant) : plus(earlierTraffic(tenant), c);
        record(tenant, totals);
        Map<String, Long> byReason = new java.util.TreeMap<>();
        if (c != null) {
            c.drops().forEach((reason, n) -> {
                if (n > 0) byReason.put(reason.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'), n);
            });
        }
        return Optional.of(new Traffic(Cidr.format(address.get()), totals.packetsIn(), totals.packetsOut(),
                totals.bytesIn(), totals.bytesOut(), c == null ? 0 : c.totalDrops(), byReason));
    }

    /** The operator's firewall rules changed (SIGHUP): they apply from the next packet on. */
    public void setRules(FirewallRules rules) {
        firewall.setGlobalRules(rules);
    }

    /** The operator's host services changed (SIGHUP): the kernel's table is replaced in one step. */
    public synchronized void setHostServices(List<HostService> services) {
        if (kernelRulesRemoved) return;
        nat.install(subnet, gateway.name(), services, publicListeners);
        hostServices = List.copyOf(services);
    }

    /**
     * The platform's listeners (front proxy, public ports) changed: tenants reach exactly these
     * at the host's addresses, as outside clients do (hairpin). The table is replaced in one step;
     * on failure the previous one stays and the exception says why.
     */
    public synchronized void setPublicListeners(List<PublicListener> listeners) {
        if (kernelRulesRemoved || listeners.equals(publicListeners)) return;
        nat.install(subnet, gateway.name(), hostServices, listeners);
        publicListeners = List.copyOf(listeners);
        log.info("network: tenants reach the platform's public listeners {}", listeners.isEmpty() ? "(none)" : listeners);
    }

    /**
     * A tenant's own rules (its vassal file's firewall-out/-in), read after the built-in denials
     * and before the operator's. Applies from the next packet on if the tenant is attached, and
     * at every later attach.
     */
    public synchronized void setTenantRules(String tenant, FirewallRules rules) {
        if (rules.out().isEmpty() && rules.in().isEmpty()) {
            tenantRules.remove(tenant);
        } else {
            tenantRules.put(tenant, rules);
        }
        Attached a = attached.get(tenant);
        if (a != null) firewall.setTenantRules(a.id(), rules);
    }

    /**
     * A tenant's net-rate (bytes per second each way, 0 = none): from the next packet on if it
     * is attached, and at every later attach.
     */
    public synchronized void setTenantRate(String tenant, long bytesPerSecond) {
        if (bytesPerSecond == 0) {
            tenantRates.remove(tenant);
        } else {
            tenantRates.put(tenant, bytesPerSecond);
        }
        Attached a = attached.get(tenant);
        if (a != null) pump.setRate(a.id(), bytesPerSecond);
    }

    /**
     * Every tenant is gone for good (the emperor stops with on-exit = stop): the kernel's NAT
     * and host-protection table goes too. With on-exit = leave it stays for the next emperor,
     * which replaces it in one step.
     */
    public synchronized void removeKernelRules() {
        kernelRulesRemoved = true;
        nat.remove();
    }

    /** Stops the pump and closes every descriptor; the gateway goes away, tenants' tun0s stay. */
    @Override
    public synchronized void close() {
        pump.close();
        flushCounters();
        for (Attached a : List.copyOf(attached.values())) a.tun().close();
        attached.clear();
        gateway.close();
    }
}
