package dev.emperor.proxy.tls;

import dev.emperor.proxy.TenantSite;
import io.netty.handler.ssl.SslContext;
import io.netty.util.IllegalReferenceCountException;
import io.netty.util.ReferenceCounted;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.charset.StandardCharsets;
import java.nio.file.LinkOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every server certificate the proxy can present, and the choice for each handshake.
 *
 * <p>A tenant may have several certificates (a wildcard uploaded, ACME for its other names...).
 * They live as {@code DIR/TENANT/ORIGIN-ID.pem} (key + chain, mode 0600, written as tmp +
 * rename so a crash never leaves half a file), ORIGIN {@code upload} or {@code acme}, ID a
 * hash of the certificate's names. They are loaded at construction; a bad stored file is
 * reported in {@link #loadProblems()} and skipped, never fatal. A file of the older layout,
 * {@code DIR/TENANT.pem} (one certificate per tenant), is loaded and moved into the new one.
 * {@link #put} checks an upload completely before it replaces anything, so a refused upload
 * leaves the old certificates serving.
 *
 * <p>What a new certificate replaces: every certificate of the same tenant whose names are all
 * among the new one's names, compared as written (the same set, or a subset; {@code *.a.com}
 * does not replace {@code www.a.com}, so uploading a wildcard keeps the tenant's other
 * certificates). A certificate from ACME also replaces the tenant's earlier ACME certificates,
 * since each issuance covers every name ACME is asked for.
 *
 * <p>Choice for a server name: the tenant that owns the name (from {@link #setSites}: an
 * exact domain first, else the deepest wildcard) and the platform certificate offer their
 * certificates that cover the name; the best wins: one valid now before an expired (or not yet
 * valid) one, then the tenant's own before the platform's, then one naming the host exactly
 * before a wildcard, then the one valid longest. Nothing covers it (or no SNI): the self-signed
 * fallback. A stored certificate whose names are no longer all within its tenant's current
 * domains is not presented at all.
 *
 * <p>Reads are lock-free: the whole selection state is one immutable snapshot behind a
 * volatile field, replaced (copy-on-write) by the synchronized writers. Netty contexts are
 * built once per certificate, never per handshake. A context replaced or removed is
 * released once the new snapshot is published (native ones free their memory when the last
 * connection using them closes); {@link #close} releases the rest.
 */
public final class CertificateStore implements CertificateSource, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CertificateStore.class);
    /** Same shape as vassal names; no leading dot, so temp files can never be tenant files. */
    private static final Pattern TENANT = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}");
    /** Most certificates one tenant may have at once. */
    public static final int MAX_PER_TENANT = 32;
    private static final Pattern STORED_FILE = Pattern.compile("(upload|acme)-([0-9a-f]{16})\\.pem");

    /** Where a stored certificate came from; the emperor renews only ACME ones. */
    public enum Origin {
        /** {@code emperor cert put}: the tenant's own, never replaced by ACME. */
        UPLOAD,
        /** {@code emperor cert issue}, acme-auto or a renewal. */
        ACME;

        public String stored() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** One of a tenant's certificates, as listed by {@link #certificatesOf}. */
    public record Stored(Origin origin, PemBundle bundle, boolean presented) {
    }

    /** What {@link #put} did: the certificate now stored and those it replaced. */
    public record Installed(PemBundle bundle, List<PemBundle> replaced) {
    }

    private record Served(String id, Origin origin, PemBundle bundle, SslContext context) {

        String fileName() {
            return origin.stored() + "-" + id + ".pem";
        }
    }

    /** Which tenant owns a host: exact domains, and wildcard domains by their suffix. */
    private record Sites(Map<String, String> exact, Map<String, String> wildcard, Map<String, List<String>> domains) {

        String tenantOf(String host) {
            String tenant = exact.get(host);
            for (int dot = host.indexOf('.'); tenant == null && dot >= 0; dot = host.indexOf('.', dot + 1)) {
                tenant = wildcard.get(host.substring(dot + 1)); // deepest suffix first
            }
            return tenant;
        }
    }

    private record Snapshot(Map<String, List<Served>> stored, Sites sites, Map<String, List<Served>> presentable) {
    }

    private final Path dir;
    private final Clock clock;
    private final Served fallback;
    private final List<String> loadProblems = new ArrayList<>();
    private volatile Served platform;
    private volatile Snapshot snapshot;
    private volatile boolean closed;

    /**
     * @param dir            where tenant bundles are stored (created, mode 0700, if missing)
     * @param platformDomain the platform's domain, the fallback's common name; null for "emperor"
     */
    public CertificateStore(Path dir, String platformDomain) throws IOException {
        this(dir, platformDomain, Clock.systemUTC(), tenant -> Origin.UPLOAD);
    }

    public CertificateStore(Path dir, String platformDomain, Clock clock) throws IOException {
        this(dir, platformDomain, clock, tenant -> Origin.UPLOAD);
    }

    /**
     * @param legacyOrigin where a tenant's certificate of the older one-per-tenant layout came
     *                     from (the supervisor recorded it in its database)
     */
    public CertificateStore(Path dir, String platformDomain, Clock clock, Function<String, Origin> legacyOrigin)
            throws IOException {
        this.dir = dir;
        this.clock = clock;
        String name = platformDomain == null || platformDomain.isBlank() ? "emperor" : HostNames.normalize(platformDomain);
        try {
            this.fallback = serve(FallbackCertificate.create(name, clock.instant()), Origin.UPLOAD);
        } catch (CertificateRefused e) {
            throw new IllegalStateException("the JDK refused the self-signed fallback: " + e.getMessage(), e);
        }
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Map<String, List<Served>> stored = loadStored(legacyOrigin);
        Sites none = new Sites(Map.of(), Map.of(), Map.of());
        this.snapshot = new Snapshot(stored, none, Map.of());
    }

    private Map<String, List<Served>> loadStored(Function<String, Origin> legacyOrigin) throws IOException {
        Map<String, List<Served>> stored = new TreeMap<>();
        List<Path> entries = new ArrayList<>();
        try (DirectoryStream<Path> all = Files.newDirectoryStream(dir)) {
            all.forEach(entries::add);
        }
        entries.sort(null);
        for (Path entry : entries) {
            String entryName = entry.getFileName().toString();
            if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS) && TENANT.matcher(entryName).matches()) {
                try (DirectoryStream<Path> files = Files.newDirectoryStream(entry, "*.pem")) {
                    for (Path file : files) {
                        Matcher m = STORED_FILE.matcher(file.getFileName().toString());
                        if (!m.matches()) {
                            continue;
                        }
                        Origin origin = Origin.valueOf(m.group(1).toUpperCase(Locale.ROOT));
                        load(file, origin).ifPresent(served -> stored.computeIfAbsent(entryName, t -> new ArrayList<>()).add(served));
                    }
                }
            } else if (entryName.endsWith(".pem") && Files.isRegularFile(entry, LinkOption.NOFOLLOW_LINKS)) {
                String tenant = entryName.substring(0, entryName.length() - ".pem".length());
                if (TENANT.matcher(tenant).matches()) {
                    load(entry, legacyOrigin.apply(tenant)).ifPresent(served -> {
                        migrate(entry, tenant, served);
                        stored.computeIfAbsent(tenant, t -> new ArrayList<>()).add(served);
                    });
                }
            }
        }
        Map<String, List<Served>> copy = new TreeMap<>();
        stored.forEach((tenant, list) -> {
            // one file per origin and names: a second file for the same names (a crash between a
            // write and the delete of what it replaced) is dropped in favour of the later one
            Map<Set<String>, Served> byNames = new HashMap<>();
            for (Served served : list) {
                Served other = byNames.put(Set.copyOf(served.bundle().dnsNames()), served);
                if (other != null && other.bundle().notAfter().isAfter(served.bundle().notAfter())) {
                    byNames.put(Set.copyOf(other.bundle().dnsNames()), other);
                    ServerContexts.release(served.context());
                } else if (other != null) {
                    ServerContexts.release(other.context());
                }
            }
            copy.put(tenant, List.copyOf(byNames.values()));
        });
        return Collections.unmodifiableMap(copy);
    }

    private Optional<Served> load(Path file, Origin origin) {
        try {
            return Optional.of(serve(PemBundle.parse(readLimited(file), clock.instant()), origin));
        } catch (CertificateRefused | IOException e) {
            String problem = file + ": " + e.getMessage() + " (skipped)";
            loadProblems.add(problem);
            log.error("stored certificate {}", problem);
            return Optional.empty();
        }
    }

    /** A certificate of the one-file-per-tenant layout moves to the tenant's directory. */
    private void migrate(Path legacy, String tenant, Served served) {
        try {
            writeAtomically(tenantDir(tenant).resolve(served.fileName()), served.bundle().toPem());
            Files.delete(legacy);
            log.info("tenant {}: certificate moved from {} to {}", tenant, legacy, tenantDir(tenant).resolve(served.fileName()));
        } catch (IOException e) {
            String problem = legacy + ": not moved to " + tenantDir(tenant) + ": " + e.getMessage() + " (served from memory)";
            loadProblems.add(problem);
            log.error("stored certificate {}", problem);
        }
    }

    /**
     * Uses a platform certificate (normally a wildcard for the platform domain). The key may
     * be in the certificate file itself: pass the same path twice.
     */
    public synchronized void usePlatformCertificate(Path certificateFile, Path keyFile) throws CertificateRefused {
        byte[] pem;
        try {
            byte[] cert = readLimited(certificateFile);
            byte[] key = keyFile.equals(certificateFile) ? new byte[0] : readLimited(keyFile);
            pem = new byte[cert.length + 1 + key.length];
            System.arraycopy(cert, 0, pem, 0, cert.length);
            pem[cert.length] = '\n';
            System.arraycopy(key, 0, pem, cert.length + 1, key.length);
        } catch (IOException e) {
            throw new CertificateRefused("platform certificate: cannot read " + e.getMessage());
        }
        Served replaced = platform;
        try {
            platform = serve(PemBundle.parse(pem, clock.instant()), Origin.UPLOAD);
        } catch (CertificateRefused e) {
            throw new CertificateRefused("platform certificate " + certificateFile + ": " + e.getMessage());
        }
        if (replaced != null) {
            ServerContexts.release(replaced.context());
        }
        log.info("platform certificate: {}", platform.bundle());
    }

    /** Tells the store which tenant owns which names; call again whenever sites change. */
    public synchronized void setSites(Collection<TenantSite> siteList) {
        Map<String, String> exact = new HashMap<>();
        Map<String, String> wildcard = new HashMap<>();
        Map<String, List<String>> domains = new HashMap<>();
        for (TenantSite site : siteList) {
            List<String> names = site.domains().stream().map(HostNames::normalize).toList();
            domains.put(site.tenant(), names);
            for (String name : names) {
                if (name.startsWith("*.")) {
                    wildcard.putIfAbsent(name.substring(2), site.tenant());
                } else {
                    exact.putIfAbsent(name, site.tenant());
                }
            }
        }
        publish(snapshot.stored(), new Sites(Map.copyOf(exact), Map.copyOf(wildcard), Map.copyOf(domains)));
    }

    /** An upload: {@link #put(String, byte[], Collection, Origin)} with origin {@link Origin#UPLOAD}. */
    public PemBundle put(String tenant, byte[] pem, Collection<String> tenantDomains)
            throws CertificateRefused, IOException {
        return put(tenant, pem, tenantDomains, Origin.UPLOAD).bundle();
    }

    /**
     * Checks a bundle for {@code tenant} and, only if every check passes, stores it in place of
     * the certificates it replaces (see the class comment) and serves it from the next handshake
     * on (open connections keep their certificate).
     *
     * @throws CertificateRefused with the reason; the previous certificates stay in place
     * @throws IOException        if it could not be stored; nothing changed
     */
    public synchronized Installed put(String tenant, byte[] pem, Collection<String> tenantDomains, Origin origin)
            throws CertificateRefused, IOException {
        if (tenant == null || !TENANT.matcher(tenant).matches()) {
            throw new CertificateRefused("bad tenant name '" + tenant + "'");
        }
        PemBundle bundle = PemBundle.parse(pem, clock.instant());
        bundle.checkNamesFor(tenant, tenantDomains);
        Set<String> names = Set.copyOf(bundle.dnsNames());
        List<Served> kept = new ArrayList<>();
        List<Served> replaced = new ArrayList<>();
        for (Served current : snapshot.stored().getOrDefault(tenant, List.of())) {
            boolean replaces = names.containsAll(current.bundle().dnsNames())
                    || origin == Origin.ACME && current.origin() == Origin.ACME;
            (replaces ? replaced : kept).add(current);
        }
        if (kept.size() >= MAX_PER_TENANT) {
            // each one holds a TLS context (native memory) and is scanned on the tenant's handshakes
            throw new CertificateRefused("tenant " + tenant + " has " + kept.size() + " certificates this one would not"
                    + " replace, the most one tenant may have (" + MAX_PER_TENANT + "); remove some first, or upload one"
                    + " that carries their names");
        }
        Served served = serve(bundle, origin);
        try {
            writeAtomically(tenantDir(tenant).resolve(served.fileName()), bundle.toPem());
        } catch (IOException | RuntimeException e) {
            ServerContexts.release(served.context());
            throw e;
        }
        kept.add(served);
        for (Served old : replaced) {
            if (!old.fileName().equals(served.fileName())) {
                deleteQuietly(tenantDir(tenant).resolve(old.fileName()));
            }
        }
        publish(withTenant(tenant, kept), snapshot.sites());
        replaced.forEach(old -> ServerContexts.release(old.context())); // after publish: no new handshake can pick it
        log.info("tenant {}: now serving {}{}", tenant, bundle,
                replaced.isEmpty() ? "" : " in place of " + replaced.stream().map(r -> r.bundle().toString()).toList());
        return new Installed(bundle, replaced.stream().map(Served::bundle).toList());
    }

    /** Deletes every certificate of a tenant; its names fall back to the platform or self-signed one. */
    public synchronized boolean remove(String tenant) throws IOException {
        return !remove(tenant, null).isEmpty();
    }

    /**
     * Deletes the tenant's certificates that name {@code host} (as written: {@code *.a.com}
     * removes the wildcard, {@code www.a.com} only a certificate naming www.a.com itself), or
     * all of them if {@code host} is null. A certificate goes whole, with all its names.
     *
     * @return the certificates removed; empty if none matched (nothing changed)
     */
    public synchronized List<PemBundle> remove(String tenant, String host) throws IOException {
        if (tenant == null || !TENANT.matcher(tenant).matches()) {
            return List.of();
        }
        String name = host == null ? null : HostNames.normalize(host);
        List<Served> kept = new ArrayList<>();
        List<Served> removed = new ArrayList<>();
        for (Served current : snapshot.stored().getOrDefault(tenant, List.of())) {
            (name == null || current.bundle().dnsNames().contains(name) ? removed : kept).add(current);
        }
        if (removed.isEmpty()) {
            return List.of();
        }
        for (Served old : removed) {
            Files.deleteIfExists(tenantDir(tenant).resolve(old.fileName()));
        }
        if (kept.isEmpty()) {
            deleteQuietly(tenantDir(tenant));
        }
        publish(withTenant(tenant, kept), snapshot.sites());
        removed.forEach(old -> ServerContexts.release(old.context()));
        return removed.stream().map(Served::bundle).toList();
    }

    /**
     * Releases every TLS context (their native memory, once the connections still using
     * them close). Handshakes after this fail; call it when the HTTPS listeners are closed.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Snapshot last = snapshot;
        snapshot = new Snapshot(Map.of(), last.sites(), Map.of());
        last.stored().values().forEach(list -> list.forEach(served -> ServerContexts.release(served.context())));
        if (platform != null) {
            ServerContexts.release(platform.context());
            platform = null;
        }
        ServerContexts.release(fallback.context());
    }

    /** The tenant's stored certificates (presented or not), ordered by their names. */
    public List<Stored> certificatesOf(String tenant) {
        Snapshot now = snapshot;
        List<Served> presented = now.presentable().getOrDefault(tenant, List.of());
        return now.stored().getOrDefault(tenant, List.of()).stream()
                .map(s -> new Stored(s.origin(), s.bundle(), presented.contains(s)))
                .sorted(Comparator.comparing((Stored s) -> String.join(",", s.bundle().dnsNames())).thenComparing(Stored::origin))
                .toList();
    }

    /** Stored files that could not be loaded at start, each with its reason. */
    public List<String> loadProblems() {
        return List.copyOf(loadProblems);
    }

    @Override
    public SslContext acquire(String serverName) {
        for (;;) {
            SslContext context = select(serverName).context();
            if (!(context instanceof ReferenceCounted counted)) {
                return context;
            }
            try {
                counted.retain();
                return context;
            } catch (IllegalReferenceCountException released) {
                // Replaced and released between our read of the snapshot and the retain: the
                // writer published the successor first, so reading again finds a live one.
                if (closed) {
                    throw new IllegalStateException("the certificate store is closed", released);
                }
            }
        }
    }

    /** The bundle a handshake for {@code serverName} gets (for status output and tests). */
    public PemBundle presentedFor(String serverName) {
        return select(serverName).bundle();
    }

    private Served select(String serverName) {
        if (serverName == null || serverName.isEmpty()) {
            return fallback;
        }
        String host = HostNames.normalize(serverName);
        Snapshot now = snapshot;
        Instant instant = clock.instant();
        Served best = null;
        String tenant = now.sites().tenantOf(host);
        if (tenant != null) {
            for (Served own : now.presentable().getOrDefault(tenant, List.of())) {
                if (own.bundle().covers(host) && (best == null || better(own, true, best, true, host, instant))) {
                    best = own;
                }
            }
        }
        Served platformCert = platform;
        if (platformCert != null && platformCert.bundle().covers(host)
                && (best == null || better(platformCert, false, best, true, host, instant))) {
            best = platformCert;
        }
        return best == null ? fallback : best;
    }

    /**
     * Whether {@code a} should be presented for {@code host} rather than {@code b} (both cover
     * it): valid now first (an expired certificate only as a last resort), then the tenant's own
     * before the platform's, then the host named exactly before a wildcard, then valid longest.
     */
    private static boolean better(Served a, boolean aOwn, Served b, boolean bOwn, String host, Instant now) {
        boolean aValid = validAt(a.bundle(), now);
        if (aValid != validAt(b.bundle(), now)) {
            return aValid;
        }
        if (aOwn != bOwn) {
            return aOwn;
        }
        boolean aExact = a.bundle().dnsNames().contains(host);
        if (aExact != b.bundle().dnsNames().contains(host)) {
            return aExact;
        }
        return a.bundle().notAfter().isAfter(b.bundle().notAfter());
    }

    private static boolean validAt(PemBundle bundle, Instant now) {
        return !now.isBefore(bundle.leaf().getNotBefore().toInstant()) && now.isBefore(bundle.notAfter());
    }

    /** Recomputes which stored certificates may be presented, then swaps the snapshot. */
    private void publish(Map<String, List<Served>> stored, Sites sites) {
        Map<String, List<Served>> presentable = new HashMap<>();
        stored.forEach((tenant, list) -> {
            List<String> domains = sites.domains().get(tenant);
            if (domains == null) {
                return; // no site (yet): nothing routes to it
            }
            List<Served> ok = new ArrayList<>();
            for (Served served : list) {
                try {
                    served.bundle().checkNamesFor(tenant, domains);
                    ok.add(served);
                } catch (CertificateRefused e) {
                    log.warn("tenant {}: stored {} not presented: {}", tenant, served.bundle(), e.getMessage());
                }
            }
            presentable.put(tenant, List.copyOf(ok));
        });
        snapshot = new Snapshot(stored, sites, Map.copyOf(presentable));
    }

    /** The stored map with the tenant's list replaced (dropped when empty). */
    private Map<String, List<Served>> withTenant(String tenant, List<Served> list) {
        Map<String, List<Served>> stored = new TreeMap<>(snapshot.stored());
        if (list.isEmpty()) {
            stored.remove(tenant);
        } else {
            stored.put(tenant, List.copyOf(list));
        }
        return Collections.unmodifiableMap(stored);
    }

    private Path tenantDir(String tenant) {
        return dir.resolve(tenant);
    }

    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            // a stale file costs nothing now; at the next start the later certificate for the same names wins
            log.warn("could not delete {}: {}", path, e.toString());
        }
    }

    private static Served serve(PemBundle bundle, Origin origin) throws CertificateRefused {
        return new Served(idOf(bundle), origin, bundle, ServerContexts.build(bundle));
    }

    /** 16 hex digits of SHA-256 over the sorted names: the same names, the same file. */
    private static String idOf(PemBundle bundle) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] digest = sha.digest(String.join(",", new TreeSet<>(bundle.dnsNames())).getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    private static byte[] readLimited(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] bytes = in.readNBytes(PemBundle.MAX_BYTES + 1);
            if (bytes.length > PemBundle.MAX_BYTES) {
                throw new IOException(file + " is larger than " + PemBundle.MAX_BYTES + " bytes");
            }
            return bytes;
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": no such file", e);
        }
    }

    /** Write tmp (0600 from creation, so the key is never readable by others) + fsync + rename. */
    private static void writeAtomically(Path target, byte[] content) throws IOException {
        Files.createDirectories(target.getParent(),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        try (FileChannel channel = FileChannel.open(tmp, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
            ByteBuffer buffer = ByteBuffer.wrap(content);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
