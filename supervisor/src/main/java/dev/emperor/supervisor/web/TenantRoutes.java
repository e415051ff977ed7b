package dev.emperor.supervisor.web;

import dev.emperor.proxy.FrontProxy;
import dev.emperor.proxy.SiteTable;
import dev.emperor.proxy.TenantSite;
import dev.emperor.proxy.Upstream;
import dev.emperor.proxy.l4.ForwardOptions;
import dev.emperor.proxy.l4.PortAllocator;
import dev.emperor.proxy.l4.PortAssignment;
import dev.emperor.proxy.l4.PortForwarder;
import dev.emperor.proxy.l4.PortLimits;
import dev.emperor.proxy.l4.ServiceProtocol;
import dev.emperor.proxy.tls.CertificateStore;
import dev.emperor.proxy.tls.PemBundle;
import dev.emperor.supervisor.config.PortService;
import dev.emperor.supervisor.config.VassalConfig;
import dev.emperor.supervisor.config.WebSite;
import dev.emperor.supervisor.lifecycle.TenantLauncher;
import dev.emperor.supervisor.state.CertificateOrigin;
import dev.emperor.supervisor.state.EventKind;
import dev.emperor.supervisor.state.StateStore;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Each tenant's web site and public ports, from its last valid vassal file, turned into the
 * proxy's terms: the site table (and the certificate store's idea of who owns which name) is
 * rebuilt whole on every change; forwards are opened, re-pointed and closed per service.
 *
 * <p>A name claimed by two tenants stays with the one whose file came first; the other's
 * status shows the conflict and its other names still work. Ports come from the
 * {@link PortAllocator}, whose ledger is the state database, so a service keeps its public
 * port across reloads and emperor restarts, and a removed tenant's ports stay reserved.
 */
public final class TenantRoutes implements TenantLauncher.LiveSettingsListener {
    private static final Logger log = LoggerFactory.getLogger(TenantRoutes.class);

    /** What one tenant's file asks of the proxy. */
    private record Wanted(WebSite web, List<PortService> ports) {}

    /** A public port as `emperor status` shows it. */
    public record PublicPort(String service, String protocol, int internalPort, int publicPort) {}

    /** A stored certificate as `emperor status` shows it. */
    public record Certificate(List<String> names, Instant notAfter) {}

    private final FrontProxy proxy;
    /** Replaced whole when SIGHUP changes cert-dir, platform-domain or drops tls-cert. */
    private volatile CertificateStore certificates;
    /** Per tenant: uploads and removals by an operator, so ACME never overwrites one made during issuance. */
    private final Map<String, Long> operatorChanges = new HashMap<>();
    private final PortAllocator allocator;
    private final PortForwarder forwarder;
    private final StateStore store;
    private final Path vassalRunDirs;
    private final Function<String, String> tunAddressOf;
    /** In the order tenants first appeared: that order decides who keeps a contested name. */
    private final Map<String, Wanted> wanted = new LinkedHashMap<>();
    private final Map<String, List<String>> problems = new HashMap<>();
    /** The sites as last given to the proxy, and the names each tenant lost to another. */
    private List<TenantSite> sites = List.of();
    private List<SiteTable.Conflict> conflicts = List.of();
    private volatile Runnable sitesChanged = () -> {};
    private volatile Consumer<String> tenantForgotten = name -> {};

    /**
     * @param vassalRunDirs the host directory holding every tenant's /run ({@code run-dir/vassals})
     * @param tunAddressOf  a tenant's tun address, dotted (allocated on first use)
     */
    public TenantRoutes(FrontProxy proxy, CertificateStore certificates, PortAllocator allocator,
            PortForwarder forwarder, StateStore store, Path vassalRunDirs, Function<String, String> tunAddressOf) {
        this.proxy = proxy;
        this.certificates = certificates;
        this.allocator = allocator;
        this.forwarder = forwarder;
        this.store = store;
        this.vassalRunDirs = vassalRunDirs;
        this.tunAddressOf = tunAddressOf;
    }

    @Override
    public synchronized void apply(String name, VassalConfig cfg) {
        Wanted before = wanted.get(name);
        Wanted now = new Wanted(cfg.web(), cfg.ports());
        if (now.equals(before)) return;
        wanted.put(name, now);
        List<String> portProblems = openPorts(name, now);
        problems.put(name, portProblems);
        rebuildSites();
    }

    /**
     * The operator's port caps (start and SIGHUP): every tenant's ports are reconciled again, so a
     * raised cap opens ports refused before, and a lowered one refuses only ports not yet held.
     */
    public synchronized void setPortLimits(PortLimits limits) {
        allocator.setLimits(limits);
        for (Map.Entry<String, Wanted> e : wanted.entrySet()) {
            problems.put(e.getKey(), openPorts(e.getKey(), e.getValue())); // rebuildSites adds the name conflicts
        }
        rebuildSites();
    }

    @Override
    public synchronized void forget(String name) {
        tenantForgotten.accept(name); // even if never valid in this run: its ACME back-off may be from the last
        if (wanted.remove(name) == null && allocator.assignments(name).isEmpty()) return;
        forwarder.closeTenant(name);
        allocator.releaseTenant(name); // reserved for good: never handed to anyone else
        store.setMaintenance(name, null);
        problems.remove(name);
        rebuildSites();
    }

    /** `emperor maintenance NAME on|off`: stored, so it outlives restarts; beats the file's setting. */
    public synchronized void setMaintenance(String name, boolean on) {
        store.setMaintenance(name, on);
        rebuildSites();
    }

    /** The tenant's domains as its file names them (contested ones included). */
    public synchronized List<String> domains(String name) {
        Wanted w = wanted.get(name);
        return w == null || w.web() == null ? List.of() : w.web().domains();
    }

    public synchronized boolean hasSite(String name) {
        Wanted w = wanted.get(name);
        return w != null && w.web() != null;
    }

    public synchronized boolean inMaintenance(String name) {
        Wanted w = wanted.get(name);
        return w != null && w.web() != null && store.maintenance(name).orElse(w.web().maintenance());
    }

    /** What is wrong with the tenant's site or ports now (name conflicts, unbindable ports). */
    public synchronized List<String> problems(String name) {
        return List.copyOf(problems.getOrDefault(name, List.of()));
    }

    /** The tenant's declared services and their public ports. */
    public synchronized List<PublicPort> ports(String name) {
        Wanted w = wanted.get(name);
        if (w == null) return List.of();
        List<PublicPort> list = new ArrayList<>();
        for (PortService service : w.ports()) {
            allocator.find(name, service.name()).filter(a -> !a.released()).ifPresent(a -> list.add(
                    new PublicPort(service.name(), service.protocol().stored(), service.internalPort(), a.publicPort())));
        }
        return list;
    }

    public Optional<Certificate> certificate(String name) {
        return certificates.certificateOf(name).map(b -> new Certificate(b.dnsNames(), b.notAfter()));
    }

    /**
     * Checks and stores an uploaded certificate for the tenant's current domains; renewal
     * never replaces it (its origin is recorded as an upload).
     *
     * @throws dev.emperor.proxy.tls.CertificateRefused with the reason to show as is
     */
    public synchronized PemBundle putCertificate(String name, byte[] pem) throws dev.emperor.proxy.tls.CertificateRefused, IOException {
        PemBundle bundle = certificates.put(name, pem, domains(name));
        store.setCertificateOrigin(name, CertificateOrigin.UPLOAD);
        operatorChanges.merge(name, 1L, Long::sum);
        return bundle;
    }

    public synchronized boolean removeCertificate(String name) throws IOException {
        boolean removed = certificates.remove(name);
        if (removed) {
            store.setCertificateOrigin(name, null);
            operatorChanges.merge(name, 1L, Long::sum);
        }
        return removed;
    }

    /** How many times an operator uploaded or removed the tenant's certificate since start. */
    public synchronized long operatorCertificateChanges(String name) {
        return operatorChanges.getOrDefault(name, 0L);
    }

    /**
     * Installs a certificate ACME issued, unless an operator uploaded or removed one while the
     * CA was working (issuance takes seconds to minutes): the operator's choice wins.
     *
     * @param changesAtStart {@link #operatorCertificateChanges} when the issuance began
     */
    public synchronized PemBundle installIssuedCertificate(String name, long changesAtStart, byte[] pem,
                                                           Collection<String> domains)
            throws dev.emperor.proxy.tls.CertificateRefused, IOException {
        if (operatorCertificateChanges(name) != changesAtStart) {
            throw new dev.emperor.proxy.tls.CertificateRefused("an operator uploaded or removed tenant " + name
                    + "'s certificate while ACME was issuing; the operator's choice is kept");
        }
        PemBundle bundle = certificates.put(name, pem, domains);
        store.setCertificateOrigin(name, CertificateOrigin.ACME);
        return bundle;
    }

    /** The store every handshake asks (through {@link #serverContext}) and ACME installs into. */
    public CertificateStore certificateStore() {
        return certificates;
    }

    /**
     * The TLS listener's certificate choice, always from the current store, retained for the
     * caller (see {@link dev.emperor.proxy.tls.CertificateSource}).
     */
    public io.netty.handler.ssl.SslContext serverContext(String serverName) {
        for (;;) {
            CertificateStore current = certificates;
            try {
                return current.acquire(serverName);
            } catch (IllegalStateException closed) {
                // A SIGHUP swapped stores between our read and the acquire: the successor was
                // published before the old one closed, so reading again finds it.
                if (certificates == current) throw closed;
            }
        }
    }

    /**
     * SIGHUP with a new cert-dir or platform certificate: the new store learns the sites, then
     * serves; the old one is closed (connections already made keep their contexts until they end).
     */
    public synchronized void useCertificateStore(CertificateStore replacement) {
        replacement.setSites(sites);
        CertificateStore old = certificates;
        certificates = replacement;
        if (old != replacement) old.close();
    }

    /** Called whenever the site table was rebuilt, under this object's lock: the listener only schedules work. */
    public void onSitesChanged(Runnable listener) {
        sitesChanged = listener;
    }

    /** Called when a tenant's file is gone for good, under this object's lock: the listener only schedules work. */
    public void onTenantForgotten(Consumer<String> listener) {
        tenantForgotten = listener;
    }

    /** Tenants that have a web site now, in the order they appeared. */
    public synchronized List<String> tenantsWithSites() {
        return sites.stream().map(TenantSite::tenant).toList();
    }

    /** The tenant's site with only the names it owns (not those another tenant claimed first). */
    public synchronized Optional<TenantSite> ownedSite(String name) {
        List<String> lost = conflicts.stream().filter(c -> c.loser().equals(name)).map(SiteTable.Conflict::domain).toList();
        return sites.stream().filter(site -> site.tenant().equals(name)).findFirst().map(site -> new TenantSite(name,
                site.domains().stream().filter(d -> !lost.contains(d)).toList(), site.app(), site.maintenanceBackend(),
                site.maintenance(), site.redirectToHttps(), site.maxBodyBytes(), site.maxConnections()));
    }

    // ---- internals ------------------------------------------------------------------------

    private List<String> openPorts(String name, Wanted now) {
        List<String> found = new ArrayList<>();
        Map<String, ServiceProtocol> declared = new LinkedHashMap<>();
        for (PortService service : now.ports()) declared.put(service.name(), service.protocol());
        PortAllocator.Reconciled reconciled = allocator.reconcile(name, declared);
        List<PortAssignment> assigned = reconciled.assigned();
        List<String> before = problems.getOrDefault(name, List.of());
        for (String refusal : reconciled.refused()) {
            found.add(refusal);
            if (!before.contains(refusal)) { // once per refusal, not on every reload that repeats it
                log.warn("vassal {}: {}", name, refusal);
                store.event(name, EventKind.ERROR, refusal);
            }
        }
        // services no longer declared were released by reconcile: stop listening on them
        for (PortAssignment a : allocator.assignments(name)) {
            if (a.released()) forwarder.close(name, a.service());
        }
        List<String> domains = now.web() == null ? List.of() : now.web().domains();
        for (PortService service : now.ports()) {
            Optional<PortAssignment> given = assigned.stream().filter(a -> a.service().equals(service.name())).findFirst();
            if (given.isEmpty()) {
                continue; // refused: it has no port (the problem says why)
            }
            int port = given.get().publicPort();
            Upstream upstream = new Upstream.Tcp(tunAddressOf.apply(name), service.internalPort());
            ForwardOptions options = service.protocol() == ServiceProtocol.TLS ? ForwardOptions.tls(domains)
                    : ForwardOptions.tcp();
            try {
                forwarder.open(name, service.name(), port, upstream, options);
            } catch (IOException e) {
                found.add("port " + service.name() + ": " + e.getMessage());
                log.error("vassal {}: {}", name, e.getMessage());
            }
        }
        return found;
    }

    private void rebuildSites() {
        List<TenantSite> sites = new ArrayList<>();
        for (Map.Entry<String, Wanted> e : wanted.entrySet()) {
            WebSite web = e.getValue().web();
            if (web == null || web.domains().isEmpty()) continue;
            String name = e.getKey();
            sites.add(new TenantSite(name, web.domains(), upstream(name, web.upstream()),
                    web.maintenanceUpstream() == null ? null : upstream(name, web.maintenanceUpstream()),
                    store.maintenance(name).orElse(web.maintenance()), web.httpsRedirect(), web.maxBodyBytes(),
                    web.maxConnections()));
        }
        List<SiteTable.Conflict> conflicts = proxy.setSites(sites);
        certificates.setSites(sites);
        this.sites = List.copyOf(sites);
        this.conflicts = List.copyOf(conflicts);
        Map<String, List<String>> conflictsByTenant = new HashMap<>();
        for (SiteTable.Conflict c : conflicts) {
            conflictsByTenant.computeIfAbsent(c.loser(), t -> new ArrayList<>()).add(c.toString());
        }
        for (String name : wanted.keySet()) {
            List<String> list = new ArrayList<>(problems.getOrDefault(name, List.of()));
            list.removeIf(p -> p.startsWith("domain "));
            List<String> mine = conflictsByTenant.getOrDefault(name, List.of());
            list.addAll(mine);
            for (String conflict : mine) {
                if (!problems.getOrDefault(name, List.of()).contains(conflict)) log.warn("vassal {}: {}", name, conflict);
            }
            problems.put(name, list);
        }
        sitesChanged.run();
    }

    private Upstream upstream(String name, WebSite.Upstream app) {
        return switch (app) {
            // directly in the tenant's /run, whose parent is root's; opened with O_NOFOLLOW by the proxy
            case WebSite.Upstream.RunSocket socket -> new Upstream.UnixSocket(vassalRunDirs.resolve(name)
                    .resolve(socket.fileName()));
            case WebSite.Upstream.TunPort port -> new Upstream.Tcp(tunAddressOf.apply(name), port.port());
        };
    }
}
