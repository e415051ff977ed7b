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
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every server certificate the proxy can present, and the choice for each handshake.
 *
 * <p>Tenant certificates live in one directory as {@code DIR/TENANT.pem} (key + chain,
 * mode 0600, written as tmp + rename so a crash never leaves half a file). They are loaded
 * at construction; a bad stored file is reported in {@link #loadProblems()} and skipped,
 * never fatal. {@link #put} checks an upload completely before it replaces anything, so a
 * refused upload leaves the old certificate serving.
 *
 * <p>Choice for a server name: the tenant that owns the name (from {@link #setSites}: an
 * exact domain first, else the deepest wildcard) presents its own certificate if that covers
 * the name; otherwise the platform wildcard certificate if it covers the name; otherwise
 * the self-signed fallback (also for clients that send no SNI). A stored certificate whose
 * names are no longer all within its tenant's current domains is not presented at all.
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

    private record Served(PemBundle bundle, SslContext context) {
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

    private record Snapshot(Map<String, Served> stored, Sites sites, Map<String, Served> presentable) {
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
        this(dir, platformDomain, Clock.systemUTC());
    }

    public CertificateStore(Path dir, String platformDomain, Clock clock) throws IOException {
        this.dir = dir;
        this.clock = clock;
        String name = platformDomain == null || platformDomain.isBlank() ? "emperor" : HostNames.normalize(platformDomain);
        try {
            this.fallback = serve(FallbackCertificate.create(name, clock.instant()));
        } catch (CertificateRefused e) {
            throw new IllegalStateException("the JDK refused the self-signed fallback: " + e.getMessage(), e);
        }
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Map<String, Served> stored = loadStored();
        Sites none = new Sites(Map.of(), Map.of(), Map.of());
        this.snapshot = new Snapshot(stored, none, Map.of());
    }

    private Map<String, Served> loadStored() throws IOException {
        Map<String, Served> stored = new HashMap<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.pem")) {
            for (Path file : files) {
                String fileName = file.getFileName().toString();
                String tenant = fileName.substring(0, fileName.length() - ".pem".length());
                if (!TENANT.matcher(tenant).matches()) {
                    continue;
                }
                try {
                    Served served = serve(PemBundle.parse(readLimited(file), clock.instant()));
                    Served duplicate = stored.put(tenant, served);
                    if (duplicate != null) {
                        ServerContexts.release(duplicate.context());
                    }
                } catch (CertificateRefused | IOException e) {
                    String problem = file + ": " + e.getMessage() + " (skipped)";
                    loadProblems.add(problem);
                    log.error("stored certificate {}", problem);
                }
            }
        }
        return Map.copyOf(stored);
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
            platform = serve(PemBundle.parse(pem, clock.instant()));
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

    /**
     * Checks an uploaded bundle for {@code tenant} and, only if every check passes, stores it
     * and serves it from the next handshake on (open connections keep their certificate).
     *
     * @throws CertificateRefused with the reason; the previous certificate stays in place
     * @throws IOException        if it could not be stored; nothing changed
     */
    public synchronized PemBundle put(String tenant, byte[] pem, Collection<String> tenantDomains)
            throws CertificateRefused, IOException {
        if (tenant == null || !TENANT.matcher(tenant).matches()) {
            throw new CertificateRefused("bad tenant name '" + tenant + "'");
        }
        PemBundle bundle = PemBundle.parse(pem, clock.instant());
        bundle.checkNamesFor(tenant, tenantDomains);
        Served served = serve(bundle);
        try {
            writeAtomically(dir.resolve(tenant + ".pem"), bundle.toPem());
        } catch (IOException | RuntimeException e) {
            ServerContexts.release(served.context());
            throw e;
        }
        Map<String, Served> stored = new HashMap<>(snapshot.stored());
        Served replaced = stored.put(tenant, served);
        publish(Map.copyOf(stored), snapshot.sites());
        if (replaced != null) {
            ServerContexts.release(replaced.context()); // after publish: no new handshake can pick it
        }
        log.info("tenant {}: now serving {}", tenant, bundle);
        return bundle;
    }

    /** Deletes a tenant's certificate; its names fall back to the platform or self-signed one. */
    public synchronized boolean remove(String tenant) throws IOException {
        if (tenant == null || !TENANT.matcher(tenant).matches() || !snapshot.stored().containsKey(tenant)) {
            return false;
        }
        Files.deleteIfExists(dir.resolve(tenant + ".pem"));
        Map<String, Served> stored = new HashMap<>(snapshot.stored());
        Served removed = stored.remove(tenant);
        publish(Map.copyOf(stored), snapshot.sites());
        ServerContexts.release(removed.context());
        return true;
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
        last.stored().values().forEach(served -> ServerContexts.release(served.context()));
        if (platform != null) {
            ServerContexts.release(platform.context());
            platform = null;
        }
        ServerContexts.release(fallback.context());
    }

    /** The stored certificate of a tenant, if any (presented or not). */
    public Optional<PemBundle> certificateOf(String tenant) {
        return Optional.ofNullable(snapshot.stored().get(tenant)).map(Served::bundle);
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
        String tenant = now.sites().tenantOf(host);
        if (tenant != null) {
            Served own = now.presentable().get(tenant);
            if (own != null && own.bundle().covers(host)) {
                return own;
            }
        }
        Served platformCert = platform;
        if (platformCert != null && platformCert.bundle().covers(host)) {
            return platformCert;
        }
        return fallback;
    }

    /** Recomputes which stored certificates may be presented, then swaps the snapshot. */
    private void publish(Map<String, Served> stored, Sites sites) {
        Map<String, Served> presentable = new HashMap<>();
        stored.forEach((tenant, served) -> {
            List<String> domains = sites.domains().get(tenant);
            if (domains == null) {
                return; // no site (yet): nothing routes to it
            }
            try {
                served.bundle().checkNamesFor(tenant, domains);
                presentable.put(tenant, served);
            } catch (CertificateRefused e) {
                log.warn("tenant {}: stored certificate not presented: {}", tenant, e.getMessage());
            }
        });
        snapshot = new Snapshot(stored, sites, Map.copyOf(presentable));
    }

    private static Served serve(PemBundle bundle) throws CertificateRefused {
        return new Served(bundle, ServerContexts.build(bundle));
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
