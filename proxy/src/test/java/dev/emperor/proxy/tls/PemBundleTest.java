package dev.emperor.proxy.tls;

import static dev.emperor.proxy.tls.TestPki.bundle;
import static dev.emperor.proxy.tls.TestPki.cert;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.emperor.proxy.tls.TestPki.Issued;
import dev.emperor.proxy.tls.TestPki.LeafSpec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.junit.jupiter.api.Test;

class PemBundleTest {

    private static final Issued ROOT = TestPki.rootCa("Test Root");
    private static final Issued INTERMEDIATE = TestPki.intermediateCa("Test Intermediate", ROOT);
    private static final Issued SHOP = TestPki.leaf(LeafSpec.of("shop", "shop.bigco.example.com", "www.bigco.example.com"), INTERMEDIATE);

    private static PemBundle parse(byte[] pem) throws CertificateRefused {
        return PemBundle.parse(pem, Instant.now());
    }

    private static byte[] ascii(String... parts) {
        return String.join("", parts).getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void leafWithChainIsAcceptedAndKeptLeafFirst() throws Exception {
        PemBundle parsed = parse(bundle(SHOP, INTERMEDIATE, ROOT));
        assertThat(parsed.chain()).containsExactly(SHOP.cert(), INTERMEDIATE.cert(), ROOT.cert());
        assertThat(parsed.dnsNames()).containsExactly("shop.bigco.example.com", "www.bigco.example.com");
    }

    @Test
    void certificatesInAnyOrderAreOrderedFromTheLeafUp() throws Exception {
        byte[] reversed = ascii(cert(ROOT.cert()), cert(INTERMEDIATE.cert()), TestPki.traditionalKey(SHOP.keys()), cert(SHOP.cert()));
        assertThat(parse(reversed).chain()).containsExactly(SHOP.cert(), INTERMEDIATE.cert(), ROOT.cert());
    }

    @Test
    void canonicalFormParsesBackToTheSameBundle() throws Exception {
        PemBundle parsed = parse(bundle(SHOP, ROOT, INTERMEDIATE));
        PemBundle again = parse(parsed.toPem());
        assertThat(again.chain()).isEqualTo(parsed.chain());
        assertThat(new String(parsed.toPem(), StandardCharsets.US_ASCII)).startsWith("-----BEGIN PRIVATE KEY-----");
    }

    @Test
    void pkcs1RsaSec1EcAndPkcs8KeysAreAccepted() throws Exception {
        Issued rsa = TestPki.leaf(LeafSpec.of("rsa", "rsa.example.com").rsa(), INTERMEDIATE);
        Issued ec = TestPki.leaf(LeafSpec.of("ec", "ec.example.com"), INTERMEDIATE);
        String pkcs1 = TestPki.traditionalKey(rsa.keys());
        String sec1 = TestPki.traditionalKey(ec.keys());
        assertThat(pkcs1).startsWith("-----BEGIN RSA PRIVATE KEY-----");
        assertThat(sec1).startsWith("-----BEGIN EC PRIVATE KEY-----");
        assertThat(parse(ascii(pkcs1, cert(rsa.cert()))).leaf()).isEqualTo(rsa.cert());
        assertThat(parse(ascii(sec1, cert(ec.cert()))).leaf()).isEqualTo(ec.cert());
        assertThat(parse(ascii(TestPki.pkcs8Key(rsa.keys()), cert(rsa.cert()))).leaf()).isEqualTo(rsa.cert());
    }

    @Test
    void encryptedKeyIsRefusedWithAHint() {
        assertRefused(ascii(TestPki.encryptedPkcs8Key(SHOP.keys()), cert(SHOP.cert())), "the private key is encrypted");
    }

    @Test
    void keyOfAnotherCertificateIsRefused() {
        Issued other = TestPki.leaf(LeafSpec.of("other", "shop.bigco.example.com"), INTERMEDIATE);
        assertRefused(ascii(TestPki.pkcs8Key(other.keys()), cert(SHOP.cert())), "private key does not match the certificate");
        assertRefused(ascii(TestPki.pkcs8Key(other.keys()), cert(SHOP.cert()), cert(INTERMEDIATE.cert())),
                "private key does not match any of the 2 certificates");
    }

    @Test
    void chainCertificateWithTheIssuersNameButAnotherKeyIsRefused() {
        Issued impostor = TestPki.intermediateCa("Test Intermediate", ROOT); // same name, new key
        assertRefused(bundle(SHOP, impostor), "certificate 2 does not sign certificate 1");
    }

    @Test
    void unrelatedCertificateInTheBundleIsRefused() {
        Issued stranger = TestPki.rootCa("Someone Else");
        assertRefused(bundle(SHOP, INTERMEDIATE, stranger), "certificate 3 (CN=Someone Else) does not sign certificate 2");
    }

    @Test
    void nonCaIssuerIsRefused() {
        Issued notCa = TestPki.leaf(LeafSpec.of("notca", "notca.example.com"), ROOT);
        Issued below = TestPki.leaf(LeafSpec.of("below", "shop.bigco.example.com"), notCa);
        assertRefused(bundle(below, notCa), "certificate 2 is not a CA certificate");
    }

    @Test
    void expiredAndNotYetValidLeavesAreRefused() {
        Instant now = Instant.now();
        Issued expired = TestPki.leaf(LeafSpec.of("old", "shop.bigco.example.com")
                .valid(now.minus(Duration.ofDays(10)), now.minus(Duration.ofDays(1))), INTERMEDIATE);
        Issued future = TestPki.leaf(LeafSpec.of("new", "shop.bigco.example.com")
                .valid(now.plus(Duration.ofDays(1)), now.plus(Duration.ofDays(10))), INTERMEDIATE);
        assertRefused(bundle(expired, INTERMEDIATE), "certificate 1 expired on");
        assertRefused(bundle(future, INTERMEDIATE), "certificate 1 is not valid before");
    }

    @Test
    void clientOnlyCertificateIsRefused() {
        Issued client = TestPki.leaf(LeafSpec.of("client", "shop.bigco.example.com").purpose(KeyPurposeId.id_kp_clientAuth), INTERMEDIATE);
        assertRefused(bundle(client), "lacks serverAuth");
    }

    @Test
    void certificateWithoutDnsNamesIsRefused() {
        Issued cnOnly = TestPki.leaf(LeafSpec.of("shop.bigco.example.com"), INTERMEDIATE);
        assertRefused(bundle(cnOnly), "no DNS names in subjectAltName");
    }

    @Test
    void namesOutsideTheTenantsDomainsAreRefused() throws Exception {
        Issued mixed = TestPki.leaf(LeafSpec.of("mixed", "shop.bigco.example.com", "shop.other.com"), INTERMEDIATE);
        PemBundle parsed = parse(bundle(mixed));
        assertThatThrownBy(() -> parsed.checkNamesFor("bigco", List.of("shop.bigco.example.com")))
                .isInstanceOf(CertificateRefused.class)
                .hasMessage("name shop.other.com is not one of tenant bigco's domains");
    }

    @Test
    void wildcardCertificateNeedsAWildcardDomain() throws Exception {
        Issued wildcard = TestPki.leaf(LeafSpec.of("wild", "*.bigco.example.com"), INTERMEDIATE);
        PemBundle parsed = parse(bundle(wildcard));
        assertThatThrownBy(() -> parsed.checkNamesFor("bigco", List.of("shop.bigco.example.com")))
                .hasMessage("name *.bigco.example.com covers names that are not tenant bigco's domains");
        parsed.checkNamesFor("bigco", List.of("*.bigco.example.com"));
        parsed.checkNamesFor("bigco", List.of("*.example.com")); // a wildcard above also owns it
    }

    @Test
    void namesBelowATenantWildcardBelongToTheTenant() throws Exception {
        parse(bundle(SHOP)).checkNamesFor("bigco", List.of("*.bigco.example.com"));
        assertThatThrownBy(() -> parse(bundle(TestPki.leaf(LeafSpec.of("apex", "bigco.example.com"), INTERMEDIATE)))
                .checkNamesFor("bigco", List.of("*.bigco.example.com")))
                .hasMessage("name bigco.example.com is not one of tenant bigco's domains");
    }

    @Test
    void emptyGarbageAndOversizedInputIsRefusedWithAReason() {
        assertRefused(new byte[0], "bundle holds no private key");
        assertRefused(ascii("hello, I am not a certificate\n"), "bundle holds no private key");
        assertRefused(ascii(cert(SHOP.cert())), "bundle holds no private key");
        assertRefused(ascii(TestPki.pkcs8Key(SHOP.keys())), "bundle holds no certificate");
        assertRefused(new byte[PemBundle.MAX_BYTES + 1], "at most " + PemBundle.MAX_BYTES + " accepted");
        assertRefused(ascii("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"), "not a valid PEM bundle");
        assertRefused(ascii("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "not a valid PEM bundle");
        assertRefused(ascii("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), "not a valid PEM bundle");
        String full = new String(bundle(SHOP, INTERMEDIATE), StandardCharsets.US_ASCII);
        assertRefused(ascii(full.substring(0, full.length() - 30)), "not a valid PEM bundle");
    }

    @Test
    void mutatedBundlesNeverThrowAnythingButARefusal() {
        byte[] valid = bundle(SHOP, INTERMEDIATE);
        Random random = new Random(42);
        for (int i = 0; i < 400; i++) {
            byte[] mutated = i % 2 == 0
                    ? Arrays.copyOf(valid, random.nextInt(valid.length))
                    : valid.clone();
            if (i % 2 == 1) {
                for (int flips = 1 + random.nextInt(4); flips > 0; flips--) {
                    mutated[random.nextInt(mutated.length)] = (byte) random.nextInt(256);
                }
            }
            try {
                parse(mutated);
            } catch (CertificateRefused expected) {
                assertThat(expected.getMessage()).isNotBlank();
            }
        }
    }

    private static void assertRefused(byte[] pem, String reason) {
        assertThatThrownBy(() -> parse(pem)).isInstanceOf(CertificateRefused.class).hasMessageContaining(reason);
    }
}
