package dev.emperor.proxy.acme;

import dev.emperor.proxy.TenantSite;
import dev.emperor.proxy.tls.CertificateRefused;
import dev.emperor.proxy.tls.CertificateStore;
import dev.emperor.proxy.tls.PemBundle;
import java.io.IOException;
import java.io.StringWriter;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.Security;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.shredzone.acme4j.Account;
import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Http01Challenge;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeLazyLoadingException;
import org.shredzone.acme4j.exception.AcmeProtocolException;
import org.shredzone.acme4j.util.KeyPairUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gets a certificate for a tenant's domains from an ACME CA with HTTP-01 challenges
 * (answered by the plain-HTTP listener through {@link PendingChallenges}) and hands it to
 * an {@link Installer} (normally {@link CertificateStore#put}, which checks it like any upload).
 *
 * <p>Wildcard domains are skipped: a CA only issues wildcards after DNS-01, which needs the
 * tenant's DNS. The account key (EC P-256) is created once and kept on disk (0600), so
 * every issuance uses the same ACME account. Each certificate gets a new EC P-256 key.
 *
 * <p>{@link #issue} blocks for as long as the CA takes (seconds): call it off the event loop.
 */
public final class AcmeIssuer {

    private static final Logger log = LoggerFactory.getLogger(AcmeIssuer.class);
    private static final Duration VALIDATION_TIMEOUT = Duration.ofMinutes(2);

    private final URI directory;
    private final Path accountKeyFile;
    private final String contactEmail;
    private final X509Certificate trustedCa;
    private final PendingChallenges challenges;
    private final Installer installer;

    /** Checks and installs an issued certificate; {@link CertificateStore#put} is one. */
    @FunctionalInterface
    public interface Installer {
        PemBundle install(String tenant, byte[] pem, Collection<String> tenantDomains) throws CertificateRefused, IOException;
    }

    /**
     * @param directory      the CA's ACME directory URL (e.g. https://acme-v02.api.letsencrypt.org/directory)
     * @param accountKeyFile the account key PEM; created if missing
     * @param contactEmail   the account's contact address, or null
     * @param trustedCa      the only CA trusted for the ACME server's own TLS certificate
     *                       (private CAs, pebble), or null for the JDK's default trust
     */
    public AcmeIssuer(URI directory, Path accountKeyFile, String contactEmail, X509Certificate trustedCa,
                      PendingChallenges challenges, Installer installer) {
        // acme4j asks for "BC" by name (keys, CSR). Appended last, so the JDK's own
        // providers (and with them the proxy's TLS) stay first in line.
        if (Security.getProvider(BouncyCastleProvider.PROVIDER_NAME) == null) {
            Security.addProvider(new BouncyCastleProvider());
        }
        this.directory = Objects.requireNonNull(directory, "directory");
        this.accountKeyFile = Objects.requireNonNull(accountKeyFile, "accountKeyFile");
        this.contactEmail = contactEmail;
        this.trustedCa = trustedCa;
        this.challenges = Objects.requireNonNull(challenges, "challenges");
        this.installer = Objects.requireNonNull(installer, "installer");
    }

    /** The names HTTP-01 can prove: every domain of the site except wildcards. */
    public static List<String> issuableDomains(TenantSite site) {
        return site.domains().stream().filter(d -> !d.startsWith("*.")).distinct().toList();
    }

    /** Orders, validates and installs a certificate for the site; the old one stays on failure. */
    public PemBundle issue(TenantSite site) throws AcmeFailure {
        List<String> domains = issuableDomains(site);
        if (domains.isEmpty()) {
            throw new AcmeFailure("tenant " + site.tenant() + " has no non-wildcard domain; HTTP-01 cannot prove wildcards");
        }
        List<String[]> answered = new ArrayList<>();
        try {
            Account account = account();
            Order order = account.newOrder().domains(domains).create();
            List<Authorization> authorizations = order.getAuthorizations();
            for (Authorization authorization : authorizations) {
                if (authorization.getStatus() == Status.VALID) {
                    continue; // the CA remembers a recent validation
                }
                String host = authorization.getIdentifier().getDomain();
                Http01Challenge challenge = authorization.findChallenge(Http01Challenge.class)
                        .orElseThrow(() -> new AcmeFailure("the CA offers no http-01 challenge for " + host));
                challenges.add(host, challenge.getToken(), challenge.getAuthorization());
                answered.add(new String[] {host, challenge.getToken()});
                challenge.trigger();
            }
            for (Authorization authorization : authorizations) {
                if (authorization.waitForCompletion(VALIDATION_TIMEOUT) != Status.VALID) {
                    throw new AcmeFailure("the CA did not validate " + authorization.getIdentifier().getDomain()
                            + ": " + problemOf(authorization));
                }
            }
            if (order.waitUntilReady(VALIDATION_TIMEOUT) != Status.READY) {
                throw new AcmeFailure("order not ready: " + order.getError().map(Object::toString).orElse(order.getStatus().toString()));
            }
            KeyPair certificateKey = KeyPairUtils.createECKeyPair("secp256r1");
            order.execute(certificateKey);
            if (order.waitForCompletion(VALIDATION_TIMEOUT) != Status.VALID) {
                throw new AcmeFailure("the CA did not issue: " + order.getError().map(Object::toString).orElse(order.getStatus().toString()));
            }
            List<X509Certificate> chain = order.getCertificate().getCertificateChain();
            PemBundle bundle = installer.install(site.tenant(), pem(certificateKey, chain), site.domains());
            log.info("tenant {}: ACME issued {}", site.tenant(), bundle);
            return bundle;
        } catch (AcmeException | AcmeLazyLoadingException | AcmeProtocolException e) {
            throw new AcmeFailure("ACME (" + directory + ") for tenant " + site.tenant() + ": " + e.getMessage(), e);
        } catch (CertificateRefused e) {
            throw new AcmeFailure("the issued certificate was refused: " + e.getMessage(), e);
        } catch (IOException | GeneralSecurityException e) {
            throw new AcmeFailure("tenant " + site.tenant() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AcmeFailure("interrupted while waiting for the CA", e);
        } finally {
            for (String[] entry : answered) {
                challenges.remove(entry[0], entry[1]);
            }
        }
    }

    private Account account() throws AcmeException, IOException, GeneralSecurityException {
        Session session = trustedCa == null ? new Session(directory) : new Session(directory, new AcmeServerTrust(trustedCa));
        var builder = new AccountBuilder().agreeToTermsOfService().useKeyPair(accountKey());
        if (contactEmail != null && !contactEmail.isBlank()) {
            builder.addEmail(contactEmail);
        }
        return builder.create(session); // finds the existing account for a known key
    }

    private synchronized KeyPair accountKey() throws IOException {
        if (Files.exists(accountKeyFile)) {
            try (var reader = Files.newBufferedReader(accountKeyFile, StandardCharsets.US_ASCII)) {
                return KeyPairUtils.readKeyPair(reader);
            } catch (IOException | RuntimeException e) {
                throw new IOException("cannot read the ACME account key " + accountKeyFile + ": " + e.getMessage(), e);
            }
        }
        KeyPair created = KeyPairUtils.createECKeyPair("secp256r1");
        var text = new StringWriter();
        KeyPairUtils.writeKeyPair(created, text);
        writePrivately(accountKeyFile, text.toString().getBytes(StandardCharsets.US_ASCII));
        log.info("created ACME account key {}", accountKeyFile);
        return created;
    }

    private static byte[] pem(KeyPair key, List<X509Certificate> chain) throws IOException {
        var text = new StringWriter();
        try (var writer = new JcaPEMWriter(text)) {
            writer.writeObject(new JcaPKCS8Generator(key.getPrivate(), null));
            for (X509Certificate cert : chain) {
                writer.writeObject(cert);
            }
        }
        return text.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static String problemOf(Authorization authorization) {
        return authorization.getChallenges().stream()
                .flatMap(c -> c.getError().stream())
                .map(Object::toString)
                .findFirst()
                .orElse("status " + authorization.getStatus());
    }

    /** tmp (0600 from creation) + fsync + rename: the key is never readable by others, never half-written. */
    private static void writePrivately(Path target, byte[] content) throws IOException {
        Path parent = target.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = parent.resolve("." + target.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        try (FileChannel channel = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
            ByteBuffer buffer = ByteBuffer.wrap(content);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    }
}
