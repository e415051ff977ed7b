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
import dev.emperor.supervisor.domains.DomainOwnership;
import dev.emperor.supervisor.lifecycle.TenantLauncher;
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
 * <p>Which names a tenant gets is {@link DomainOwnership}'s word: a name stays with the tenant
 * that claimed it first (recorded in the state database), the proxy and the certificate store
 * are given only the names each tenant holds, and a refused name is in the tenant's status and,
 * once per refusal, in its events. Ports come from the
 * {@link PortAllocator}, whose ledger is the state database, so a service keeps its public
 * port across reloads and emperor restarts, and a removed tenant's ports stay reserved.
 */
public final class TenantRoutes implements TenantLauncher.LiveSettingsListener {
    private static final Logger log = LoggerFactory.getLogger(TenantRoutes.class);

    /** What one tenant's file asks of the proxy. */
    private record Wanted(WebSite web, List<PortService> ports) {}

    /** A public port as `emperor status` shows it. */
    public record PublicPort(String service, String protocol, int internalPort, int publicPort, boolean proxyProtocol) {}

    /**
     * A stored certificate as `emperor status` and `emperor cert list` show it.
     *
     * @param origin    "upload" or "acme"
     * @param presented false while one of its names is not the tenant's (it is then never served)
     */
    public record Certificate(List<String> names, Instant notAfter, String origin, boolean presented) {

        public boolean fromAcme() {
            return origin.equals(CertificateStore.Origin.ACME.stored());
        }
    }

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
    private final DomainOwnership domains;
    /** In the order tenants first appeared: a name released is offered to waiting tenants in this order. */
    private final Map<String, Wanted> wanted = new LinkedHashMap<>();
    /** Per tenant: public ports that could not be opened. */
    private final Map<String, List<String>> portProblems = new HashMap<>();
    /** Per tenant: the names it holds, as last given to the proxy, and those refused it (each reported once). */
    private final Map<String, List<String>> held = new HashMap<>();
    private final Map<String, Map<String, DomainOwnership.Refusal>> refused = new HashMap<>();
    /** Where public ports listen ({@code port-listen}); empty = every address. */
    private List<java.net.InetAddress> portListen = List.of();
    /** The sites as last given to the proxy (held names only). */
    private List<TenantSite> sites = List.of();
    private volatile Runnable sitesChanged = () -> {};
    private volatile Consumer<String> tenantForgotten = name -> {};

    /**
     * @param vassalRunDirs the host directory holding every tenant's /run ({@code run-dir/vassals})
     * @param tunAddressOf  a tenant's tun address, dotted (allocated on first use)
     */
    public TenantRoutes(FrontProxy proxy, CertificateStore certificates, PortAllocator allocator,
            PortForwarder forwarder, StateStore store, DomainOwnership domains, Path vassalRunDirs,
            Function<String, String> tunAddressOf) {
        this.proxy = proxy;
        this.domains = domains;
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
        rebuildSites(name);
    }

    /**
     * The operator's port caps (start and SIGHUP): every tenant's ports are reconciled again, so a
     * raised cap opens ports refused before, and a lowered one refuses only ports not yet held.
     */
    public synchronized void setPortLimits(PortLimits limits) {
        allocator.setLimits(limits);
        reconcileAll();
    }

    /**
     * Every tenant's ports and names settled again: after the state directory refused to record
     * a new port or domain claim, what waited is given now that it takes writes again.
     */
    public synchronized void reconcileAll() {
        for (Map.Entry<String, Wanted> e : wanted.entrySet()) {
            String name = e.getKey();
            portProblems.put(name, openPorts(name, e.getValue(), held.getOrDefault(name, List.of())));
        }
        rebuildSites(null);
    }

    /**
     * The addresses public ports listen on (start and SIGHUP): a changed list re-binds every
     * tenant's ports there (their open connections close); a port that cannot be bound on one of
     * the addresses is not opened at all and shows in the tenant's problems.
     */
    public synchronized void setPortListen(List<java.net.InetAddress> addresses) {
        if (addresses.equals(portListen)) return;
        portListen = List.copyOf(addresses);
        for (Map.Entry<String, Wanted> e : wanted.entrySet()) {
            String name = e.getKey();
            portProblems.put(name, openPorts(name, e.getValue(), held.getOrDefault(name, List.of())));
        }
    }

    /**
     * The tenant's file is gone and it is retired: nothing of it is served any more, but its
     * domains stay claimed by its name (no other tenant gets them) and its ports reserved, until
     * it is purged ({@link #purged}) or its file comes back.
     */
    @Override
    public synchronized void forget(String name) {
        tenantForgotten.accept(name); // even if never valid in this run: its ACME back-off may be from the last
        refused.remove(name);
        held.remove(name);
        if (wanted.remove(name) == null && allocator.assignments(name).isEmpty()) return;
        forwarder.closeTenant(name);
        allocator.releaseTenant(name); // reserved for good: never handed to anyone else
        store.maintenance().set(name, null);
        portProblems.remove(name);
        rebuildSites(null);
    }

    /**
     * The retired tenant was purged (its identity rows are gone from the store already): its
     * domains are free for others (tenants waiting for them get them now), its certificate and
     * key are deleted, and its name holds no port any more (the ports stay used for good).
     *
     * @return the domains released
     */
    public synchronized List<String> purged(String name) {
        List<String> released = domains.releaseTenant(name);
        if (!released.isEmpty()) log.info("vassal {}: domains released (purged): {}", name, released);
        allocator.forgetTenant(name);
        try {
            certificates.remove(name);
        } catch (IOException e) {
            log.error("vassal {}: cannot delete its certificate: {}", name, e.toString());
        }
        operatorChanges.remove(name);
        rebuildSites(null);
        return released;
    }

    /** `emperor maintenance NAME on|off`: stored, so it outlives restarts; beats the file's setting. */
    public synchronized void setMaintenance(String name, boolean on) {
        store.maintenance().set(name, on);
        rebuildSites(null);
    }

    /** The tenant's domains as its file names them (refused ones included). */
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
        return w != null && w.web() != null && store.maintenance().of(name).orElse(w.web().maintenance());
    }

    /** What is wrong with the tenant's site or ports now (refused names, unbindable ports). */
    public synchronized List<String> problems(String name) {
        List<String> all = new ArrayList<>();
        refused.getOrDefault(name, Map.of()).values().forEach(r -> all.add(r.toString()));
        all.addAll(portProblems.getOrDefault(name, List.of()));
        return all;
    }

    /** The names the tenant's file asks for that it does not get, with the owner where another tenant holds them. */
    public synchronized List<DomainOwnership.Refusal> refusedDomains(String name) {
        return List.copyOf(refused.getOrDefault(name, Map.of()).values());
    }

    /** The names the tenant holds and is served for, in its file's order. */
    public synchronized List<String> heldDomains(String name) {
        return held.getOrDefault(name, List.of());
    }

    /** Who holds which name, and the operator's approvals. */
    public DomainOwnership ownership() {
        return domains;
    }

    /**
     * `emperor domain transfer NAME FROM TO`: the name (and the names of FROM it covers) goes
     * to TO, whose file must name it (else TO's next file change would let it go at once).
     *
     * @return the names transferred
     */
    public synchronized List<String> transferDomain(String domain, String from, String to) throws DomainOwnership.Refused {
        String pattern = dev.emperor.supervisor.domains.DomainPattern.normalize(domain);
        Wanted target = wanted.get(to);
        if (target == null || target.web() == null || !target.web().domains().contains(pattern)) {
            throw new DomainOwnership.Refused("tenant " + to + "'s vassal file does not name " + pattern
                    + " (add `domain = " + pattern + "` to it first)");
        }
        List<String> moved = domains.transfer(pattern, from, to);
        for (String name : moved) {
            store.events().record(from, EventKind.DOMAIN, "domain " + name + " transferred to tenant " + to + " by the operator");
            store.events().record(to, EventKind.DOMAIN, "domain " + name + " transferred from tenant " + from + " by the operator");
        }
        log.info("domains {} transferred from {} to {} by the operator", moved, from, to);
        rebuildSites(null);
        return moved;
    }

    /** `emperor domain approve NAME TENANT`: takes effect at once if the tenant's file names it. */
    public synchronized void approveDomain(String domain, String tenant) {
        domains.approve(domain, tenant);
        store.events().record(tenant, EventKind.DOMAIN, "domain " + dev.emperor.supervisor.domains.DomainPattern.normalize(domain)
                + " approved by the operator");
        rebuildSites(null);
    }

    /** `emperor domain revoke NAME TENANT`: the approval goes, and the names only it allowed. */
    public synchronized List<String> revokeDomain(String domain, String tenant) throws DomainOwnership.Refused {
        List<String> released = domains.revoke(domain, tenant);
        store.events().record(tenant, EventKind.DOMAIN, "approval of domain " + dev.emperor.supervisor.domains.DomainPattern.normalize(domain)
                + " revoked by the operator" + (released.isEmpty() ? "" : "; released " + released));
        rebuildSites(null);
        return released;
    }

    /** The tenant's declared services and their public ports. */
    public synchronized List<PublicPort> ports(String name) {
        Wanted w = wanted.get(name);
        if (w == null) return List.of();
        List<PublicPort> list = new ArrayList<>();
        for (PortService service : w.ports()) {
            allocator.find(name, service.name()).filter(a -> !a.released()).ifPresent(a -> list.add(
                    new PublicPort(service.name(), service.protocol().stored(), service.internalPort(), a.publicPort(),
                    service.proxyProtocol())));
        }
        return list;
    }

    /** The tenant's certificates, ordered by their names. */
    public List<Certificate> certificates(String name) {
        return certificates.certificatesOf(name).stream().map(c -> new Certificate(c.bundle().dnsNames(),
                c.bundle().notAfter(), c.origin().stored(), c.presented())).toList();
    }

    /**
     * Checks and stores an uploaded certificate for the tenant's current domains, in place of
     * the tenant's certificates whose names it all carries; renewal never replaces it.
     *
     * @throws dev.emperor.proxy.tls.CertificateRefused with the reason to show as is
     */
    public synchronized CertificateStore.Installed putCertificate(String name, byte[] pem)
            throws dev.emperor.proxy.tls.CertificateRefused, IOException {
        // Only names the tenant holds: a name its file asks for but another tenant holds is not its own.
        CertificateStore.Installed installed = certificates.put(name, pem, heldDomains(name), CertificateStore.Origin.UPLOAD);
        operatorChanges.merge(name, 1L, Long::sum);
        return installed;
    }

    /** Removes the tenant's certificates naming {@code host} as written (null: all of them); returns them. */
    public synchronized List<PemBundle> removeCertificates(String name, String host) throws IOException {
        List<PemBundle> removed = certificates.remove(name, host);
        if (!removed.isEmpty()) {
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
        // The names asked for were held when the order began; one transferred away meanwhile is refused here.
        List<String> stillHeld = domains.stream().filter(heldDomains(name)::contains).toList();
        return certificates.put(name, pem, stillHeld, CertificateStore.Origin.ACME).bundle();
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

    /** The tenant's site with only the names it holds (never one another tenant claimed first). */
    public synchronized Optional<TenantSite> ownedSite(String name) {
        return sites.stream().filter(site -> site.tenant().equals(name)).findFirst();
    }

    // ---- internals ------------------------------------------------------------------------

    private List<String> openPorts(String name, Wanted now, List<String> heldNames) {
        List<String> found = new ArrayList<>();
        Map<String, ServiceProtocol> declared = new LinkedHashMap<>();
        for (PortService service : now.ports()) declared.put(service.name(), service.protocol());
        PortAllocator.Reconciled reconciled = allocator.reconcile(name, declared);
        List<PortAssignment> assigned = reconciled.assigned();
        List<String> before = portProblems.getOrDefault(name, List.of());
        for (String refusal : reconciled.refused()) {
            found.add(refusal);
            if (!before.contains(refusal)) { // once per refusal, not on every reload that repeats it
                log.warn("vassal {}: {}", name, refusal);
                store.events().record(name, EventKind.ERROR, refusal);
            }
        }
        // services no longer declared were released by reconcile: stop listening on them
        for (PortAssignment a : allocator.assignments(name)) {
            if (a.released()) forwarder.close(name, a.service());
        }
        for (PortService service : now.ports()) {
            Optional<PortAssignment> given = assigned.stream().filter(a -> a.service().equals(service.name())).findFirst();
            if (given.isEmpty()) {
                continue; // refused: it has no port (the problem says why)
            }
            int port = given.get().publicPort();
            Upstream upstream = new Upstream.Tcp(tunAddressOf.apply(name), service.internalPort());
            // TLS passthrough only for names the tenant holds, never another tenant's
            ForwardOptions options = (service.protocol() == ServiceProtocol.TLS ? ForwardOptions.tls(heldNames)
                    : ForwardOptions.tcp()).withBindAddresses(portListen).withProxyProtocol(service.proxyProtocol());
            try {
                forwarder.open(name, service.name(), port, upstream, options);
            } catch (IOException e) {
                found.add("port " + service.name() + ": " + e.getMessage());
                log.error("vassal {}: {}", name, e.getMessage());
            }
        }
        return found;
    }

    /**
     * Settles who holds which name, then gives the proxy and the certificate store the sites
     * with held names only. {@code changed} (null: none) is the tenant whose file just changed:
     * its dropped names are released first, then every tenant's file is matched again in order,
     * so a name just released goes to a tenant that was waiting for it.
     */
    private void rebuildSites(String changed) {
        if (changed != null) settleDomains(changed, true);
        for (String name : wanted.keySet()) settleDomains(name, false);
        List<TenantSite> sites = new ArrayList<>();
        for (Map.Entry<String, Wanted> e : wanted.entrySet()) {
            WebSite web = e.getValue().web();
            String name = e.getKey();
            List<String> names = held.getOrDefault(name, List.of());
            if (web == null || names.isEmpty()) continue;
            sites.add(new TenantSite(name, names, upstream(name, web.upstream()),
                    web.maintenanceUpstream() == null ? null : upstream(name, web.maintenanceUpstream()),
                    store.maintenance().of(name).orElse(web.maintenance()), web.httpsRedirect(), web.maxBodyBytes(),
                    web.maxConnections()));
        }
        List<SiteTable.Conflict> conflicts = proxy.setSites(sites);
        if (!conflicts.isEmpty()) log.error("site table conflicts despite domain ownership: {}", conflicts); // never expected
        certificates.setSites(sites);
        this.sites = List.copyOf(sites);
        sitesChanged.run();
    }

    /**
     * Matches one tenant's file against the ownership ledger; records claims, releases and new
     * refusals as events (a refusal once, not on every rebuild), and re-opens its ports when
     * the names its TLS services may pass changed (or its file did).
     */
    private void settleDomains(String name, boolean fileChanged) {
        Wanted w = wanted.get(name);
        List<String> asked = w == null || w.web() == null ? List.of() : w.web().domains();
        DomainOwnership.Outcome outcome = domains.reconcile(name, asked);
        for (String domain : outcome.claimed()) store.events().record(name, EventKind.DOMAIN, "domain " + domain + " claimed");
        for (String domain : outcome.released()) {
            store.events().record(name, EventKind.DOMAIN, "domain " + domain + " released (no longer in the vassal file)");
        }
        Map<String, DomainOwnership.Refusal> before = refused.getOrDefault(name, Map.of());
        Map<String, DomainOwnership.Refusal> now = new LinkedHashMap<>();
        for (DomainOwnership.Refusal refusal : outcome.refused()) {
            now.put(refusal.name(), refusal);
            DomainOwnership.Refusal earlier = before.get(refusal.name());
            if (earlier == null || !java.util.Objects.equals(earlier.owner(), refusal.owner())) {
                store.events().record(name, EventKind.DOMAIN, refusal.toString());
                log.warn("vassal {}: {}", name, refusal);
            }
        }
        refused.put(name, now);
        List<String> previous = held.put(name, outcome.held());
        if (w != null && (fileChanged || !outcome.held().equals(previous))) {
            portProblems.put(name, openPorts(name, w, outcome.held()));
        }
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
