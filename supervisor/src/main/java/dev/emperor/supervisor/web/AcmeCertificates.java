package dev.emperor.supervisor.web;

import dev.emperor.proxy.TenantSite;
import dev.emperor.proxy.acme.AcmeFailure;
import dev.emperor.proxy.acme.AcmeIssuer;
import dev.emperor.proxy.acme.PendingChallenges;
import dev.emperor.proxy.tls.PemBundle;
import dev.emperor.supervisor.config.AcmeSettings;
import dev.emperor.supervisor.config.ProxySettings;
import dev.emperor.supervisor.state.AcmeRetry;
import dev.emperor.supervisor.state.EventKind;
import dev.emperor.supervisor.state.StateStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tenants' certificates from the ACME CA of emperor.ini: issued on request ({@code emperor
 * cert issue}), automatically for tenants with domains and no certificate ({@code acme-auto}),
 * and renewed when they expire within {@code acme-renew-days}.
 *
 * <p>Everything runs on one platform thread of its own, one issuance at a time: a CA takes
 * seconds, the control socket and the proxy never wait for it, and the CA sees one order at
 * a time from us (rate limits). A renewal pass runs at start, whenever the site table
 * changed, after SIGHUP, and every {@link #CHECK_INTERVAL}; a tenant whose issuance failed
 * is retried with exponential back-off (an event in its history each time), never more
 * often. The back-off is this class's own: kept in {@link #retries} and written through to
 * the state database, so a restarted (or crash-looping) emperor honours it instead of
 * retrying every failing tenant at once against the CA's per-hour limits. It ends when the
 * tenant gets a certificate from the CA or is removed. Only certificates whose recorded
 * origin is ACME are ever replaced: an uploaded certificate (or one stored before origins
 * were recorded) is the tenant's own, and so are the names it covers (a tenant may have an
 * uploaded wildcard and ACME for its other names).
 *
 * <p>Which names are asked for: the tenant's domains that it holds ({@code DomainOwnership}: a
 * name another tenant claimed first is never ordered for it), minus wildcards (HTTP-01 cannot prove them) and minus
 * names the platform certificate ({@code tls-cert}) already covers (they are served with it
 * anyway; asking a CA for them only spends its rate limits), minus names an uploaded
 * certificate of the tenant covers.
 */
public final class AcmeCertificates implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AcmeCertificates.class);

    /** How often certificates are looked at when nothing else asks for a pass. */
    public static final Duration CHECK_INTERVAL = Duration.ofHours(12);
    /** The first retry after a failed issuance; doubled per failure, at most CHECK_INTERVAL. */
    static final Duration FIRST_RETRY = Duration.ofMinutes(10);
    /** A burst of vassal files (the start) ends in one pass, not one per file. */
    private static final Duration SITES_SETTLE = Duration.ofSeconds(2);

    /** Why no certificate was issued, in words for the operator (the CA's own, where it gave some). */
    public static final class NotIssued extends Exception {
        public NotIssued(String message) {
            super(message);
        }
    }

    /** One order at the CA: {@link AcmeIssuer} in production, a stand-in in tests. */
    @FunctionalInterface
    interface Ca {
        PemBundle issue(AcmeSettings acme, TenantSite site, AcmeIssuer.Installer installer) throws AcmeFailure, NotIssued;
    }

    private static final java.util.regex.Pattern CERTIFICATE_BLOCK = java.util.regex.Pattern.compile(
            "-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\\s]+-----END CERTIFICATE-----");

    private final TenantRoutes routes;
    private final StateStore store;
    private final Supplier<ProxySettings> settings;
    private final Clock clock;
    private final Ca ca;
    private final ScheduledExecutorService worker = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().name("emperor-acme").daemon().unstarted(r));
    /** The working copy of the back-off, loaded from the store at construction; every change is written through. */
    private final Map<String, AcmeRetry> retries;
    private ScheduledFuture<?> nextPass; // guarded by this

    /**
     * @param accountKey where the ACME account key is kept (created on first use, 0600)
     * @param settings   the proxy settings now in force (they change on SIGHUP)
     */
    public AcmeCertificates(TenantRoutes routes, StateStore store, PendingChallenges challenges, Path accountKey,
            Supplier<ProxySettings> settings, Clock clock) {
        this(routes, store, settings, clock, (acme, site, installer) -> new AcmeIssuer(acme.directory(), accountKey,
                acme.email().orElse(null), acme.caTrust().isEmpty() ? null : readTrust(acme.caTrust().get()), challenges,
                installer).issue(site));
    }

    AcmeCertificates(TenantRoutes routes, StateStore store, Supplier<ProxySettings> settings, Clock clock, Ca ca) {
        this.routes = routes;
        this.store = store;
        this.settings = settings;
        this.clock = clock;
        this.ca = ca;
        this.retries = new ConcurrentHashMap<>(storedRetries());
    }

    /** The first pass now; later ones follow site changes and the check interval. */
    public void start() {
        schedulePass(Duration.ZERO);
    }

    /** The site table changed: a new tenant may need a certificate (acme-auto) or new names. */
    public void sitesChanged() {
        schedulePass(SITES_SETTLE);
    }

    /** SIGHUP: ACME may have been turned on, or the renewal window widened. */
    public void settingsChanged() {
        schedulePass(Duration.ZERO);
    }

    /**
     * The tenant's vassal file is gone for good: its back-off goes too, so a new tenant of that
     * name starts afresh. Done on the worker, after any issuance for it under way has recorded
     * its outcome.
     */
    public void forget(String tenant) {
        try {
            worker.execute(() -> forgetRetry(tenant));
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            forgetRetry(tenant); // closing: no issuance runs any more
        }
    }

    /** `emperor cert issue NAME`: queued behind any issuance under way; replaces whatever the tenant has. */
    public Future<PemBundle> issue(String tenant) {
        return worker.submit(() -> {
            try {
                return issueNow(tenant, "issued");
            } catch (NotIssued e) {
                store.events().record(tenant, EventKind.CERT, "ACME issuance failed: " + e.getMessage());
                throw e;
            }
        });
    }

    /**
     * What a renewal pass did: one line per tenant it touched, and how many of those are due a
     * certificate they still lack (failed now, or waiting out the back-off of earlier failures).
     */
    public record RenewalReport(List<String> lines, int failed) {
    }

    /**
     * `emperor cert renew`: a renewal pass now (back-off still applies). A back-off it starts
     * brings the next timed pass forward, as a timed pass's own would.
     */
    public Future<RenewalReport> renewNow() {
        return worker.submit(() -> {
            Instant began = clock.instant();
            RenewalReport report = pass();
            schedulePass(untilNextRetry(began));
            return report;
        });
    }

    /** How long until the next timed pass would run (null: none is scheduled); for tests. */
    synchronized Duration nextPassDelay() {
        return nextPass == null || nextPass.isDone() ? null : Duration.ofMillis(nextPass.getDelay(TimeUnit.MILLISECONDS));
    }

    // ---- the pass -------------------------------------------------------------------------

    private synchronized void schedulePass(Duration delay) {
        if (nextPass != null && !nextPass.isDone() && nextPass.getDelay(TimeUnit.MILLISECONDS) <= delay.toMillis()) {
            return; // one is due sooner anyway
        }
        if (nextPass != null) nextPass.cancel(false);
        try {
            nextPass = worker.schedule(this::scheduledPass, delay.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            nextPass = null;
        }
    }

    private void scheduledPass() {
        Instant began = clock.instant();
        try {
            pass();
        } catch (RuntimeException e) {
            log.error("ACME renewal pass failed", e); // never the daemon's end
        } finally {
            synchronized (this) {
                nextPass = null;
            }
            schedulePass(untilNextRetry(began));
        }
    }

    /** When the pass that began at {@code began} wants the next one: the earliest back-off it left, at most the check interval. */
    private Duration untilNextRetry(Instant began) {
        Instant now = clock.instant();
        Duration next = CHECK_INTERVAL;
        for (AcmeRetry retry : retries.values()) {
            // Due before this pass began: the pass retried it (so replaced or ended it), or its
            // tenant needs nothing now (no site yet or any more, an uploaded certificate; a
            // site change brings a pass). Waking for it again would only spin.
            if (!retry.notBefore().isAfter(began)) continue;
            Duration until = Duration.between(now, retry.notBefore());
            if (until.compareTo(next) < 0) next = until.isNegative() ? Duration.ZERO : until;
        }
        return next;
    }

    private RenewalReport pass() {
        ProxySettings now = settings.get(); // once per pass
        Optional<AcmeSettings> acme = now.acme();
        if (acme.isEmpty()) {
            return new RenewalReport(List.of("ACME is off (no acme-directory in emperor.ini)"), 0);
        }
        Predicate<String> platform = platformCovers(now);
        List<String> report = new ArrayList<>();
        int failed = 0;
        for (String tenant : routes.tenantsWithSites()) {
            String why;
            try {
                why = due(tenant, acme.get(), platform);
            } catch (RuntimeException e) {
                log.error("tenant {}: cannot decide on its certificate: {}", tenant, e.toString());
                continue;
            }
            if (why == null) continue;
            AcmeRetry retry = retries.get(tenant);
            if (retry != null && clock.instant().isBefore(retry.notBefore())) {
                report.add(tenant + ": " + why + " waits after " + retry.failures() + " failure(s), next attempt at "
                        + retry.notBefore());
                failed++;
                continue;
            }
            try {
                PemBundle bundle = issueNow(tenant, why);
                report.add(tenant + ": " + why + ": " + bundle);
            } catch (NotIssued | RuntimeException e) {
                int failures = retry == null ? 1 : retry.failures() + 1;
                Duration wait = backoff(failures);
                AcmeRetry next = new AcmeRetry(failures, clock.instant().plus(wait));
                retries.put(tenant, next);
                storeRetry(tenant, next);
                String line = why + " failed (attempt " + failures + ", next in " + wait.toMinutes() + "m): " + e.getMessage();
                log.warn("tenant {}: {}", tenant, line);
                store.events().record(tenant, EventKind.CERT, line);
                report.add(tenant + ": " + line);
                failed++;
            }
        }
        return new RenewalReport(report, failed);
    }

    static Duration backoff(int failures) {
        Duration wait = FIRST_RETRY.multipliedBy(1L << Math.min(failures - 1, 16));
        return wait.compareTo(CHECK_INTERVAL) > 0 ? CHECK_INTERVAL : wait;
    }

    /** The back-off recorded before this start; unreadable, the emperor starts without it rather than not at all. */
    private Map<String, AcmeRetry> storedRetries() {
        try {
            return store.certificates().acmeRetries();
        } catch (RuntimeException e) {
            log.error("ACME back-off of earlier failures not readable; every tenant may be tried at once: {}", e.toString());
            return Map.of();
        }
    }

    private void forgetRetry(String tenant) {
        retries.remove(tenant);
        storeRetry(tenant, null);
    }

    /** Writes the back-off through (null: forgets it); a store failure costs it only across a restart. */
    private void storeRetry(String tenant, AcmeRetry retry) {
        try {
            store.certificates().setAcmeRetry(tenant, retry);
        } catch (RuntimeException e) {
            log.error("tenant {}: ACME back-off not stored: {}", tenant, e.toString());
        }
    }

    /**
     * Why the tenant needs a certificate from ACME now, or null if it does not. Only its ACME
     * certificates are looked at: its uploads are its own, and their names are never ordered.
     */
    private String due(String tenant, AcmeSettings acme, Predicate<String> platform) {
        List<TenantRoutes.Certificate> fromAcme = routes.certificates(tenant).stream()
                .filter(TenantRoutes.Certificate::fromAcme).toList();
        Optional<TenantSite> site = issuable(tenant, platform);
        if (fromAcme.isEmpty()) {
            return acme.auto() && site.isPresent() ? "automatic issuance" : null;
        }
        if (site.isEmpty()) {
            return null; // every name has an upload (or the platform's) now: nothing to order
        }
        for (TenantRoutes.Certificate current : fromAcme) {
            Instant expires = current.notAfter();
            if (!clock.instant().plus(Duration.ofDays(acme.renewDays())).isBefore(expires)) {
                return "renewal (expires " + expires + ")";
            }
        }
        Set<String> covered = new TreeSet<>();
        fromAcme.forEach(c -> covered.addAll(c.names()));
        if (!new TreeSet<>(site.get().domains()).equals(covered)) {
            return "renewal for changed domains " + site.get().domains();
        }
        return null;
    }

    private Optional<TenantSite> issuable(String tenant, Predicate<String> platform) {
        try {
            return Optional.of(issuableSite(tenant, platform));
        } catch (NotIssued e) {
            return Optional.empty();
        }
    }

    // ---- one issuance -----------------------------------------------------------------------

    private PemBundle issueNow(String tenant, String why) throws NotIssued {
        AcmeSettings acme = settings.get().acme().orElseThrow(() -> new NotIssued(
                "ACME is not configured: set acme-directory (and acme-email) in emperor.ini, then SIGHUP the emperor"));
        TenantSite site = issuableSite(tenant);
        long operatorChanges = routes.operatorCertificateChanges(tenant);
        PemBundle bundle;
        try {
            bundle = ca.issue(acme, site,
                    (name, pem, domains) -> routes.installIssuedCertificate(name, operatorChanges, pem, domains));
        } catch (AcmeFailure e) {
            throw new NotIssued(e.getMessage());
        }
        forgetRetry(tenant);
        store.events().record(tenant, EventKind.CERT, "certificate " + why + " by ACME: " + bundle);
        log.info("tenant {}: certificate {} by ACME: {}", tenant, why, bundle);
        return bundle;
    }

    /** The tenant's site reduced to the names ACME may be asked for (see the class comment). */
    TenantSite issuableSite(String tenant) throws NotIssued {
        return issuableSite(tenant, platformCovers());
    }

    private TenantSite issuableSite(String tenant, Predicate<String> platform) throws NotIssued {
        if (!routes.hasSite(tenant)) {
            throw new NotIssued("tenant " + tenant + " names no domain in its file; a certificate needs the tenant's domains");
        }
        // only names the tenant holds: one another tenant claimed first is never ordered for it
        TenantSite site = routes.ownedSite(tenant).orElseThrow(() -> new NotIssued("tenant " + tenant
                + " holds none of the domains its file names: " + String.join("; ", routes.problems(tenant))));
        // names an uploaded certificate of the tenant covers are its own choice: never ordered
        List<TenantRoutes.Certificate> uploads = routes.certificates(tenant).stream().filter(c -> !c.fromAcme()).toList();
        List<String> names = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        for (String domain : AcmeIssuer.issuableDomains(site)) {
            if (platform.test(domain)) {
                skipped.add(domain + " (served with the platform certificate)");
            } else if (uploads.stream().anyMatch(c -> certificateCovers(c.names(), domain))) {
                skipped.add(domain + " (has an uploaded certificate)");
            } else {
                names.add(domain);
            }
        }
        site.domains().stream().filter(d -> d.startsWith("*.")).forEach(d -> skipped.add(d + " (a wildcard: HTTP-01 cannot prove it)"));
        if (names.isEmpty()) {
            throw new NotIssued("tenant " + tenant + " has no domain ACME can issue for"
                    + (skipped.isEmpty() ? "" : ": " + String.join(", ", skipped)));
        }
        return new TenantSite(tenant, names, site.app(), site.maintenanceBackend(), site.maintenance(),
                site.redirectToHttps(), site.maxBodyBytes(), site.maxConnections());
    }

    /** Whether a name is covered by the platform certificate (tls-cert), read afresh. */
    private Predicate<String> platformCovers() {
        return platformCovers(settings.get());
    }

    private Predicate<String> platformCovers(ProxySettings proxy) {
        Optional<Path> file = proxy.tlsCert();
        if (file.isEmpty()) return name -> false;
        Set<String> names = new TreeSet<>();
        try {
            // the file may hold the key too (tls-key = the same file): only its CERTIFICATE blocks are read
            var blocks = CERTIFICATE_BLOCK.matcher(Files.readString(file.get(), java.nio.charset.StandardCharsets.US_ASCII));
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            while (blocks.find()) {
                Certificate cert = factory.generateCertificate(new java.io.ByteArrayInputStream(
                        blocks.group().getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
                if (cert instanceof X509Certificate x509 && x509.getBasicConstraints() < 0) { // the leaf, not a CA
                    names.addAll(dnsNames(x509));
                    break;
                }
            }
        } catch (IOException | CertificateException | RuntimeException e) {
            log.warn("platform certificate {} not readable for ACME's choice of names: {}", file.get(), e.getMessage());
        }
        return name -> {
            String host = name.toLowerCase(Locale.ROOT);
            int dot = host.indexOf('.');
            return names.contains(host) || (dot > 0 && names.contains("*" + host.substring(dot)));
        };
    }

    /** Whether a certificate's names cover a host: exactly, or by a wildcard one label up. */
    private static boolean certificateCovers(List<String> certNames, String host) {
        String name = host.toLowerCase(Locale.ROOT);
        int dot = name.indexOf('.');
        return certNames.contains(name) || (dot > 0 && certNames.contains("*" + name.substring(dot)));
    }

    private static List<String> dnsNames(X509Certificate cert) throws CertificateParsingException {
        List<String> names = new ArrayList<>();
        if (cert.getSubjectAlternativeNames() == null) return names;
        for (List<?> san : cert.getSubjectAlternativeNames()) {
            if (Integer.valueOf(2).equals(san.get(0))) names.add(san.get(1).toString().toLowerCase(Locale.ROOT));
        }
        return names;
    }

    private static X509Certificate readTrust(Path file) throws NotIssued {
        try (InputStream in = Files.newInputStream(file)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        } catch (IOException | CertificateException e) {
            throw new NotIssued("acme-ca-trust " + file + ": " + e.getMessage());
        }
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
