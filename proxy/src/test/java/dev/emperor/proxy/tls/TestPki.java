package dev.emperor.proxy.tls;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.util.io.pem.PemObject;

/** Test CAs and leaf certificates made with BouncyCastle, and their PEM forms. */
public final class TestPki {

    private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime());

    public record Issued(KeyPair keys, X509Certificate cert) {
    }

    /** Options for a leaf; defaults: valid for a day around now, serverAuth, EC key. */
    public record LeafSpec(String commonName, List<String> dnsNames, Instant notBefore, Instant notAfter,
                           KeyPurposeId purpose, boolean rsaKey) {

        public static LeafSpec of(String commonName, String... dnsNames) {
            Instant now = Instant.now();
            return new LeafSpec(commonName, List.of(dnsNames), now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(1)),
                    KeyPurposeId.id_kp_serverAuth, false);
        }

        public LeafSpec valid(Instant from, Instant to) {
            return new LeafSpec(commonName, dnsNames, from, to, purpose, rsaKey);
        }

        public LeafSpec purpose(KeyPurposeId newPurpose) {
            return new LeafSpec(commonName, dnsNames, notBefore, notAfter, newPurpose, rsaKey);
        }

        public LeafSpec rsa() {
            return new LeafSpec(commonName, dnsNames, notBefore, notAfter, purpose, true);
        }
    }

    private TestPki() {
    }

    public static KeyPair ecKeys() {
        try {
            var generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public static KeyPair rsaKeys() {
        try {
            var generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Issued rootCa(String commonName) {
        KeyPair keys = ecKeys();
        return new Issued(keys, caCert(commonName, keys, "CN=" + commonName, keys));
    }

    /** An intermediate CA with its own new key, signed by {@code issuer}. */
    public static Issued intermediateCa(String commonName, Issued issuer) {
        KeyPair keys = ecKeys();
        return new Issued(keys, caCert(commonName, keys, name(issuer.cert()), issuer.keys()));
    }

    public static Issued leaf(LeafSpec spec, Issued issuer) {
        KeyPair keys = spec.rsaKey() ? rsaKeys() : ecKeys();
        try {
            // No issuer: self-signed by the leaf's own key.
            String issuerName = issuer == null ? "CN=" + spec.commonName() : name(issuer.cert());
            KeyPair signer = issuer == null ? keys : issuer.keys();
            var builder = new JcaX509v3CertificateBuilder(new X500Name(issuerName),
                    BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(spec.notBefore()), Date.from(spec.notAfter()),
                    new X500Name("CN=" + spec.commonName()), keys.getPublic());
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(spec.purpose()));
            if (!spec.dnsNames().isEmpty()) {
                builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(
                        spec.dnsNames().stream().map(n -> new GeneralName(GeneralName.dNSName, n)).toArray(GeneralName[]::new)));
            }
            return new Issued(keys, sign(builder, signer));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A self-signed leaf: the simplest bundle. */
    public static Issued selfSigned(String commonName, String... dnsNames) {
        return leaf(LeafSpec.of(commonName, dnsNames), null);
    }

    private static X509Certificate caCert(String commonName, KeyPair keys, String issuerName, KeyPair issuerKeys) {
        try {
            Instant now = Instant.now();
            var builder = new JcaX509v3CertificateBuilder(new X500Name(issuerName),
                    BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(now.minus(Duration.ofDays(1))),
                    Date.from(now.plus(Duration.ofDays(30))), new X500Name("CN=" + commonName), keys.getPublic());
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            return sign(builder, issuerKeys);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static X509Certificate sign(JcaX509v3CertificateBuilder builder, KeyPair issuerKeys) {
        try {
            return new JcaX509CertificateConverter().getCertificate(builder.build(
                    new JcaContentSignerBuilder(issuerKeys.getPrivate().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA")
                            .build(issuerKeys.getPrivate())));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String name(X509Certificate cert) {
        return cert.getSubjectX500Principal().getName();
    }

    // --- PEM ---

    /** Traditional form: PKCS#1 "RSA PRIVATE KEY", or SEC1 "EC PRIVATE KEY" with the curve inside, as openssl writes it. */
    public static String traditionalKey(KeyPair keys) {
        if (!keys.getPrivate().getAlgorithm().equals("EC")) {
            return pem(keys);
        }
        try {
            PrivateKeyInfo info = PrivateKeyInfo.getInstance(keys.getPrivate().getEncoded());
            ECPrivateKey inner = ECPrivateKey.getInstance(info.parsePrivateKey());
            var sec1 = new ECPrivateKey(256, inner.getKey(), info.getPrivateKeyAlgorithm().getParameters());
            return pem(new PemObject("EC PRIVATE KEY", sec1.getEncoded()));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String pkcs8Key(KeyPair keys) {
        try {
            return pem(new JcaPKCS8Generator(keys.getPrivate(), null));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public static String encryptedPkcs8Key(KeyPair keys) {
        try {
            var encryptor = new JceOpenSSLPKCS8EncryptorBuilder(PKCSObjectIdentifiers.pbeWithSHAAnd3_KeyTripleDES_CBC)
                    .setPassword("secret".toCharArray()).build();
            return pem(new JcaPKCS8Generator(keys.getPrivate(), encryptor));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public static String cert(X509Certificate cert) {
        return pem(cert);
    }

    /** Key (PKCS#8) + leaf + the given chain certificates, in that order. */
    public static byte[] bundle(Issued leaf, Issued... chain) {
        StringBuilder out = new StringBuilder(pkcs8Key(leaf.keys())).append(cert(leaf.cert()));
        for (Issued ca : chain) {
            out.append(cert(ca.cert()));
        }
        return out.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static String pem(Object object) {
        var out = new StringWriter();
        try (var writer = new JcaPEMWriter(out)) {
            writer.writeObject(object);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toString();
    }
}
