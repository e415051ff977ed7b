package dev.emperor.proxy.tls;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * A server certificate as uploaded: one private key and its certificate chain, in one PEM
 * file, checked before anything serves it.
 *
 * <p>Accepted input: the key as PKCS#8 ({@code PRIVATE KEY}), PKCS#1 RSA
 * ({@code RSA PRIVATE KEY}) or SEC1 EC ({@code EC PRIVATE KEY}); encrypted keys are refused
 * (the emperor has no passphrase to give). Certificates may come in any order: the leaf is
 * the one whose public key matches the private key, and the rest are ordered by following
 * issuers upwards, because CAs hand out bundles in both orders and the uploader should not
 * have to care. A certificate that is not on the leaf's chain is refused rather than
 * silently dropped. After parsing, the bundle is always kept leaf first (the order TLS sends).
 *
 * <p>Checks, each refusal naming its reason: the key matches the leaf; every chain
 * certificate is a CA that signs the one below it; the leaf is valid now (the chain's own
 * dates are the client's business, e.g. expired cross-signed roots still in use); the leaf
 * allows server authentication; the leaf carries DNS names (subjectAltName: browsers ignore
 * the common name). The tenant's names are checked separately by {@link #checkNamesFor}.
 */
public final class PemBundle {

    /** Larger uploads are refused before parsing: a real bundle is a few kilobytes. */
    public static final int MAX_BYTES = 256 * 1024;
    private static final int MAX_CERTIFICATES = 10;
    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final String ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0";

    private final PrivateKey privateKey;
    private final List<X509Certificate> chain;
    private final List<String> dnsNames;

    private PemBundle(PrivateKey privateKey, List<X509Certificate> chain, List<String> dnsNames) {
        this.privateKey = privateKey;
        this.chain = List.copyOf(chain);
        this.dnsNames = List.copyOf(dnsNames);
    }

    /** Parses and checks a bundle; never throws anything but {@link CertificateRefused}. */
    public static PemBundle parse(byte[] pem, Instant now) throws CertificateRefused {
        if (pem.length > MAX_BYTES) {
            throw new CertificateRefused("bundle is " + pem.length + " bytes; at most " + MAX_BYTES + " accepted");
        }
        Parsed parsed;
        try {
            parsed = read(pem);
        } catch (IOException | RuntimeException | StackOverflowError e) {
            throw new CertificateRefused("not a valid PEM bundle: " + describe(e));
        }
        if (parsed.key == null) {
            throw new CertificateRefused("bundle holds no private key");
        }
        if (parsed.certificates.isEmpty()) {
            throw new CertificateRefused("bundle holds no certificate");
        }
        try {
            return check(parsed.key, parsed.certificates, now);
        } catch (RuntimeException e) {
            throw new CertificateRefused("certificate could not be checked: " + describe(e));
        }
    }

    /** Checks a key and certificates made in memory (the self-signed fallback, ACME results). */
    static PemBundle of(PrivateKey key, List<X509Certificate> certificates, Instant now) throws CertificateRefused {
        return check(key, certificates, now);
    }

    private record Parsed(PrivateKey key, List<X509Certificate> certificates) {
    }

    private static Parsed read(byte[] pem) throws IOException, CertificateRefused {
        PrivateKey key = null;
        List<X509Certificate> certificates = new ArrayList<>();
        var certs = new JcaX509CertificateConverter();
        // ISO-8859-1 maps every byte, so binary garbage reaches the parser as text it rejects.
        try (var parser = new PEMParser(new InputStreamReader(new ByteArrayInputStream(pem), StandardCharsets.ISO_8859_1))) {
            Object object;
            while ((object = parser.readObject()) != null) {
                PrivateKey found = null;
                if (object instanceof X509CertificateHolder holder) {
                    if (certificates.size() == MAX_CERTIFICATES) {
                        throw new CertificateRefused("bundle holds more than " + MAX_CERTIFICATES + " certificates");
                    }
                    try {
                        certificates.add(certs.getCertificate(holder));
                    } catch (GeneralSecurityException e) {
                        throw new CertificateRefused("certificate " + (certificates.size() + 1) + " is not valid X.509: " + describe(e));
                    }
                } else if (object instanceof PEMKeyPair pair) {
                    found = jdkKey(pair.getPrivateKeyInfo()); // SEC1 keys may omit the public half
                } else if (object instanceof PrivateKeyInfo info) {
                    found = jdkKey(info);
                } else if (object instanceof PKCS8EncryptedPrivateKeyInfo || object instanceof PEMEncryptedKeyPair) {
                    throw new CertificateRefused("the private key is encrypted; upload it unencrypted"
                            + " (e.g. openssl pkey -in key.pem -out plain-key.pem)");
                } else if (!(object instanceof ASN1ObjectIdentifier)) { // "EC PARAMETERS" is harmless
                    throw new CertificateRefused("unexpected PEM block (" + object.getClass().getSimpleName()
                            + "); expected certificates and one private key");
                }
                if (found != null) {
                    if (key != null) {
                        throw new CertificateRefused("bundle holds more than one private key");
                    }
                    key = found;
                }
            }
        }
        return new Parsed(key, certificates);
    }

    /**
     * Makes the JDK's own key object (never a BouncyCastle one, even when BC is registered):
     * the JDK TLS engine signs with it.
     */
    private static PrivateKey jdkKey(PrivateKeyInfo info) throws IOException, CertificateRefused {
        ASN1ObjectIdentifier type = info.getPrivateKeyAlgorithm().getAlgorithm();
        String algorithm;
        if (type.equals(PKCSObjectIdentifiers.rsaEncryption)) {
            algorithm = "RSA";
        } else if (type.equals(X9ObjectIdentifiers.id_ecPublicKey)) {
            algorithm = "EC";
        } else if (type.equals(EdECObjectIdentifiers.id_Ed25519)) {
            algorithm = "Ed25519";
        } else {
            throw new CertificateRefused("unsupported private key type " + type + "; use RSA or EC (P-256/P-384)");
        }
        try {
            return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(info.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new CertificateRefused("the " + algorithm + " private key is not usable: " + describe(e));
        }
    }

    private static PemBundle check(PrivateKey key, List<X509Certificate> certificates, Instant now) throws CertificateRefused {
        int leaf = -1;
        for (int i = 0; i < certificates.size() && leaf < 0; i++) {
            if (keyMatches(key, certificates.get(i).getPublicKey())) {
                leaf = i;
            }
        }
        if (leaf < 0) {
            throw new CertificateRefused(certificates.size() == 1
                    ? "private key does not match the certificate"
                    : "private key does not match any of the " + certificates.size() + " certificates");
        }
        List<X509Certificate> chain = orderChain(certificates, leaf);
        X509Certificate cert = chain.get(0);
        String label = "certificate " + (leaf + 1);
        if (now.isBefore(cert.getNotBefore().toInstant())) {
            throw new CertificateRefused(label + " is not valid before " + cert.getNotBefore().toInstant());
        }
        if (now.isAfter(cert.getNotAfter().toInstant())) {
            throw new CertificateRefused(label + " expired on " + cert.getNotAfter().toInstant());
        }
        checkServerUsage(cert, label);
        return new PemBundle(key, chain, dnsNames(cert, label));
    }

    /** Leaf first, then each certificate's issuer from the bundle, up to a root or the end. */
    private static List<X509Certificate> orderChain(List<X509Certificate> certificates, int leaf) throws CertificateRefused {
        List<X509Certificate> chain = new ArrayList<>(List.of(certificates.get(leaf)));
        List<Integer> left = new ArrayList<>();
        for (int i = 0; i < certificates.size(); i++) {
            if (i != leaf) {
                left.add(i);
            }
        }
        int current = leaf;
        while (!left.isEmpty()) {
            X509Certificate below = certificates.get(current);
            if (below.getIssuerX500Principal().equals(below.getSubjectX500Principal())) {
                break; // reached a self-signed root
            }
            Integer issuer = null;
            for (Integer i : left) {
                if (certificates.get(i).getSubjectX500Principal().equals(below.getIssuerX500Principal())) {
                    issuer = i;
                    break;
                }
            }
            if (issuer == null) {
                break;
            }
            X509Certificate candidate = certificates.get(issuer);
            if (!signs(candidate, below)) {
                throw new CertificateRefused("certificate " + (issuer + 1) + " does not sign certificate " + (current + 1)
                        + " (same name " + candidate.getSubjectX500Principal().getName() + ", different key)");
            }
            if (candidate.getBasicConstraints() < 0) {
                throw new CertificateRefused("certificate " + (issuer + 1) + " is not a CA certificate,"
                        + " so it cannot issue certificate " + (current + 1));
            }
            chain.add(candidate);
            left.remove(issuer);
            current = issuer;
        }
        if (!left.isEmpty()) {
            int stray = left.get(0);
            X509Certificate top = certificates.get(current);
            throw new CertificateRefused("certificate " + (stray + 1) + " (" + certificates.get(stray).getSubjectX500Principal().getName()
                    + ") does not sign certificate " + (current + 1) + " (issued by " + top.getIssuerX500Principal().getName()
                    + ") and is not part of the leaf's chain");
        }
        return chain;
    }

    private static boolean signs(X509Certificate issuer, X509Certificate subject) {
        try {
            subject.verify(issuer.getPublicKey());
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /** Signs a random message with the key and verifies it with the certificate's public key. */
    private static boolean keyMatches(PrivateKey key, PublicKey publicKey) throws CertificateRefused {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "EdDSA";
            default -> throw new CertificateRefused("unsupported private key type " + key.getAlgorithm()
                    + "; use RSA or EC (P-256/P-384)");
        };
        if (!publicKey.getAlgorithm().equals(key.getAlgorithm())
                && !(algorithm.equals("EdDSA") && publicKey.getAlgorithm().startsWith("Ed"))) {
            return false;
        }
        try {
            byte[] message = new byte[32];
            new SecureRandom().nextBytes(message);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(message);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(publicKey);
            verifier.update(message);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false; // e.g. a P-384 key against a P-256 certificate
        }
    }

    private static void checkServerUsage(X509Certificate cert, String label) throws CertificateRefused {
        List<String> extended;
        try {
            extended = cert.getExtendedKeyUsage();
        } catch (java.security.cert.CertificateParsingException e) {
            throw new CertificateRefused(label + " has an unreadable extended key usage: " + describe(e));
        }
        if (extended != null && !extended.contains(SERVER_AUTH) && !extended.contains(ANY_EXTENDED_KEY_USAGE)) {
            throw new CertificateRefused(label + " is not for TLS servers (extended key usage lacks serverAuth)");
        }
        boolean[] usage = cert.getKeyUsage();
        // Only ECDHE suites and TLS 1.3 are offered: the key always signs the handshake.
        if (usage != null && !usage[0]) {
            throw new CertificateRefused(label + " key usage lacks digitalSignature, which TLS 1.2 ECDHE and TLS 1.3 need");
        }
    }

    private static List<String> dnsNames(X509Certificate cert, String label) throws CertificateRefused {
        Collection<List<?>> alternatives;
        try {
            alternatives = cert.getSubjectAlternativeNames();
        } catch (java.security.cert.CertificateParsingException e) {
            throw new CertificateRefused(label + " has an unreadable subjectAltName: " + describe(e));
        }
        List<String> names = new ArrayList<>();
        if (alternatives != null) {
            for (List<?> alternative : alternatives) {
                if (Integer.valueOf(2).equals(alternative.get(0)) && alternative.get(1) instanceof String dns) {
                    String name = HostNames.normalize(dns);
                    if (!HostNames.isValidCertificateName(name)) {
                        throw new CertificateRefused(label + " carries an invalid DNS name '" + dns + "'");
                    }
                    names.add(name);
                }
            }
        }
        if (names.isEmpty()) {
            throw new CertificateRefused(label + " has no DNS names in subjectAltName (clients ignore the common name)");
        }
        return names;
    }

    /**
     * Refuses the bundle unless every name it carries belongs to the tenant: a tenant must
     * never be able to present a certificate for another tenant's (or the platform's) names.
     * Every name is then one of the tenant's hosts, so the certificate matches at least one.
     */
    public void checkNamesFor(String tenant, Collection<String> tenantDomains) throws CertificateRefused {
        List<String> domains = tenantDomains.stream().map(HostNames::normalize).toList();
        for (String name : dnsNames) {
            if (!HostNames.withinDomains(name, domains)) {
                throw new CertificateRefused(name.startsWith("*.")
                        ? "name " + name + " covers names that are not tenant " + tenant + "'s domains"
                        : "name " + name + " is not one of tenant " + tenant + "'s domains");
            }
        }
    }

    /** Does this certificate cover {@code host} (lower case)? */
    public boolean covers(String host) {
        return HostNames.certificateCoversAny(dnsNames, host);
    }

    public PrivateKey privateKey() {
        return privateKey;
    }

    /** Leaf first. */
    public List<X509Certificate> chain() {
        return chain;
    }

    public X509Certificate leaf() {
        return chain.get(0);
    }

    /** The leaf's DNS names, lower case. */
    public List<String> dnsNames() {
        return dnsNames;
    }

    public Instant notAfter() {
        return leaf().getNotAfter().toInstant();
    }

    /** The canonical stored form: the key as PKCS#8, then the chain leaf first. */
    public byte[] toPem() {
        var out = new ByteArrayOutputStream();
        try (var writer = new JcaPEMWriter(new OutputStreamWriter(out, StandardCharsets.US_ASCII))) {
            writer.writeObject(new JcaPKCS8Generator(privateKey, null));
            for (X509Certificate cert : chain) {
                writer.writeObject(cert);
            }
        } catch (IOException e) {
            throw new IllegalStateException("PEM encoding in memory failed", e);
        }
        return out.toByteArray();
    }

    @Override
    public String toString() {
        return "certificate for " + String.join(", ", dnsNames) + " (valid until " + notAfter() + ")";
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
    }
}
