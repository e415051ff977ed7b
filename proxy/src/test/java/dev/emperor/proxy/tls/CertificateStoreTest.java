package dev.emperor.proxy.tls;

import static dev.emperor.proxy.tls.TestPki.bundle;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.emperor.proxy.TenantSite;
import dev.emperor.proxy.Upstream;
import dev.emperor.proxy.tls.TestPki.Issued;
import dev.emperor.proxy.tls.TestPki.LeafSpec;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCounted;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateStoreTest {

    static final Issued CA = TestPki.rootCa("Store Test CA");
    static final Issued PLATFORM = TestPki.leaf(LeafSpec.of("platform", "*.platform.test", "platform.test"), CA);
    static final Issued BIGCO = TestPki.leaf(LeafSpec.of("bigco", "shop.bigco.test", "www.bigco.test"), CA);
    static final Issued SMALL = TestPki.leaf(LeafSpec.of("small", "small.test"), CA);

    @TempDir
    Path dir;
    Path store;
    CertificateStore certificates;

    static TenantSite site(String tenant, String... domains) {
        return new TenantSite(tenant, List.of(domains), new Upstream.Tcp("10.0.0.2", 8080), null, false, false, 1 << 20, 100);
    }

    @BeforeEach
    void start() throws Exception {
        store = dir.resolve("certs");
        certificates = new CertificateStore(store, "platform.test");
        certificates.setSites(List.of(
                site("bigco", "shop.bigco.test", "www.bigco.test", "bigco.platform.test"),
                site("small", "small.test")));
    }

    @AfterEach
    void close() {
        certificates.close();
    }

    private String presentedCn(String serverName) {
        return certificates.presentedFor(serverName).leaf().getSubjectX500Principal().getName();
    }

    @Test
    void tenantCertificateThenPlatformWildcardThenFallback() throws Exception {
        Path cert = dir.resolve("platform.crt");
        Path key = dir.resolve("platform.key");
        Files.writeString(cert, TestPki.cert(PLATFORM.cert()));
        Files.writeString(key, TestPki.traditionalKey(PLATFORM.keys()));
        certificates.usePlatformCertificate(cert, key);
        certificates.put("bigco", bundle(BIGCO, CA), List.of("shop.bigco.test", "www.bigco.test", "bigco.platform.test"));

        assertThat(presentedCn("shop.bigco.test")).isEqualTo("CN=bigco");
        assertThat(presentedCn("SHOP.bigco.test.")).isEqualTo("CN=bigco");
        assertThat(presentedCn("bigco.platform.test")).isEqualTo("CN=platform"); // its own cert does not cover it
        assertThat(presentedCn("small.test")).isEqualTo("CN=platform.test"); // no cert: fallback
        assertThat(presentedCn("unknown.example")).isEqualTo("CN=platform.test");
        assertThat(presentedCn(null)).isEqualTo("CN=platform.test");
        assertThat(certificates.presentedFor("shop.bigco.test")).isSameAs(certificates.presentedFor("www.bigco.test"));
    }

    @Test
    void aTenantsCertificateIsNeverPresentedForAnotherTenantsName() throws Exception {
        // bigco owns shop.bigco.test today; the store must not let small's cert speak for it
        Issued sneaky = TestPki.leaf(LeafSpec.of("sneaky", "small.test", "shop.bigco.test"), CA);
        assertThatThrownBy(() -> certificates.put("small", bundle(sneaky, CA), List.of("small.test")))
                .isInstanceOf(CertificateRefused.class)
                .hasMessage("name shop.bigco.test is not one of tenant small's domains");
        assertThat(storedFiles("small")).isEmpty();
    }

    @Test
    void refusedUploadLeavesTheOldCertificateServing() throws Exception {
        certificates.put("bigco", bundle(BIGCO, CA), List.of("shop.bigco.test", "www.bigco.test"));
        Path stored = storedFiles("bigco").get(0);
        byte[] before = Files.readAllBytes(stored);
        Issued other = TestPki.leaf(LeafSpec.of("other", "shop.bigco.test"), CA);
        byte[] mismatched = (TestPki.pkcs8Key(other.keys()) + TestPki.cert(BIGCO.cert())).getBytes(StandardCharsets.US_ASCII);

        assertThatThrownBy(() -> certificates.put("bigco", mismatched, List.of("shop.bigco.test")))
                .hasMessage("private key does not match the certificate");
        assertThat(presentedCn("shop.bigco.test")).isEqualTo("CN=bigco");
        assertThat(storedFiles("bigco")).containsExactly(stored);
        assertThat(Files.readAllBytes(stored)).isEqualTo(before);
    }

    @Test
    void acceptedUploadIsStoredPrivatelyAndLoadedAtTheNextStart() throws Exception {
        certificates.put("bigco", bundle(BIGCO, CA), List.of("shop.bigco.test", "www.bigco.test"));
        Path file = store.resolve("bigco").resolve(storedFiles("bigco").get(0).getFileName());
        assertThat(file.getFileName().toString()).matches("upload-[0-9a-f]{16}\\.pem");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent()))).isEqualTo("rwx------");
        assertThat(Files.list(file.getParent())).containsExactly(file); // no temp file left behind

        var restarted = new CertificateStore(store, "platform.test");
        restarted.setSites(List.of(site("bigco", "shop.bigco.test", "www.bigco.test")));
        assertThat(restarted.presentedFor("www.bigco.test").leaf()).isEqualTo(BIGCO.cert());
        assertThat(restarted.loadProblems()).isEmpty();
    }

    @Test
    void badStoredFileIsReportedAndSkipped() throws Exception {
        certificates.put("small", bundle(SMALL, CA), List.of("small.test"));
        Files.writeString(store.resolve("broken.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n");

        var restarted = new CertificateStore(store, null);
        restarted.setSites(List.of(site("small", "small.test"), site("broken", "broken.test")));
        assertThat(restarted.loadProblems()).singleElement().asString()
                .contains("broken.pem").contains("not a valid PEM bundle").contains("skipped");
        assertThat(restarted.presentedFor("small.test").leaf()).isEqualTo(SMALL.cert());
        assertThat(restarted.presentedFor("broken.test").leaf().getSubjectX500Principal().getName()).isEqualTo("CN=emperor");
    }

    @Test
    void storedCertificateIsNotPresentedOnceItsNamesLeaveTheTenantsDomains() throws Exception {
        certificates.put("bigco", bundle(BIGCO, CA), List.of("shop.bigco.test", "www.bigco.test"));
        certificates.setSites(List.of(site("bigco", "shop.bigco.test"), site("newcomer", "www.bigco.test")));
        assertThat(presentedCn("shop.bigco.test")).isEqualTo("CN=platform.test");
        assertThat(presentedCn("www.bigco.test")).isEqualTo("CN=platform.test");
    }

    @Test
    void wildcardDomainsSelectTheirTenantAtAnyDepth() throws Exception {
        Issued wild = TestPki.leaf(LeafSpec.of("wild", "*.bigco.test", "*.eu.bigco.test"), CA);
        certificates.setSites(List.of(site("bigco", "*.bigco.test")));
        certificates.put("bigco", bundle(wild, CA), List.of("*.bigco.test"));
        assertThat(presentedCn("a.bigco.test")).isEqualTo("CN=wild");
        assertThat(presentedCn("b.eu.bigco.test")).isEqualTo("CN=wild");
        assertThat(presentedCn("c.b.eu.bigco.test")).isEqualTo("CN=platform.test"); // the cert does not cover it
    }

    @Test
    void removeFallsBackAndDeletesTheFile() throws Exception {
        certificates.put("small", bundle(SMALL, CA), List.of("small.test"));
        assertThat(certificates.remove("small")).isTrue();
        assertThat(presentedCn("small.test")).isEqualTo("CN=platform.test");
        assertThat(storedFiles("small")).isEmpty();
        assertThat(certificates.remove("small")).isFalse();
    }

    @Test
    void badTenantNamesAndPlatformFilesAreRefused() {
        assertThatThrownBy(() -> certificates.put("../etc/passwd", bundle(SMALL, CA), List.of("small.test")))
                .hasMessage("bad tenant name '../etc/passwd'");
        assertThatThrownBy(() -> certificates.usePlatformCertificate(dir.resolve("missing.crt"), dir.resolve("missing.key")))
                .isInstanceOf(CertificateRefused.class).hasMessageContaining("missing.crt");
    }

    @Test
    void theNativeTlsEngineServesWhenItsLibraryLoads() {
        assertThat(OpenSsl.isAvailable()).as("netty-tcnative-boringssl-static: %s", OpenSsl.unavailabilityCause()).isTrue();
        SslContext context = certificates.acquire("anything.test");
        try {
            assertThat(context.isServer()).isTrue();
            assertThat(context).isInstanceOf(ReferenceCounted.class); // BoringSSL, not the JDK engine
        } finally {
            io.netty.util.ReferenceCountUtil.release(context);
        }
    }

    @Test
    void replacedAndRemovedCertificatesReleaseTheirNativeContexts() throws Exception {
        certificates.put("bigco", bundle(BIGCO, CA), List.of("shop.bigco.test", "www.bigco.test"));
        ReferenceCounted first = (ReferenceCounted) certificates.acquire("shop.bigco.test");
        assertThat(first.refCnt()).isEqualTo(2); // the store's and ours
        first.release();

        Issued renewed = TestPki.leaf(LeafSpec.of("bigco-renewed", "www.bigco.test", "shop.bigco.test"), CA);
        certificates.put("bigco", bundle(renewed, CA), List.of("shop.bigco.test", "www.bigco.test"));
        assertThat(first.refCnt()).isZero();
        ReferenceCounted second = (ReferenceCounted) certificates.acquire("shop.bigco.test");
        assertThat(second).isNotSameAs(first);
        second.release();

        certificates.remove("bigco");
        assertThat(second.refCnt()).isZero();
    }

    @Test
    void aContextInUseOutlivesItsReplacement() throws Exception {
        certificates.put("small", bundle(SMALL, CA), List.of("small.test"));
        ReferenceCounted inUse = (ReferenceCounted) certificates.acquire("small.test"); // as a handshake would
        certificates.remove("small");
        assertThat(inUse.refCnt()).isEqualTo(1);
        inUse.release();
        assertThat(inUse.refCnt()).isZero();
    }

    @Test
    void closeReleasesEveryContextAndRefusesLaterHandshakes() throws Exception {
        Path cert = dir.resolve("platform.pem");
        Files.write(cert, bundle(PLATFORM, CA));
        certificates.usePlatformCertificate(cert, cert);
        certificates.put("small", bundle(SMALL, CA), List.of("small.test"));
        ReferenceCounted platform = peek("x.platform.test");
        ReferenceCounted small = peek("small.test");
        ReferenceCounted fallback = peek("unknown.test");

        certificates.close();

        assertThat(List.of(platform.refCnt(), small.refCnt(), fallback.refCnt())).containsOnly(0);
        assertThatThrownBy(() -> certificates.acquire("small.test")).isInstanceOf(IllegalStateException.class);
    }

    // ---- several certificates per tenant ----------------------------------------------------

    static final Issued APEX = TestPki.leaf(LeafSpec.of("apex", "multi.test", "www.multi.test"), CA);
    static final Issued WILD = TestPki.leaf(LeafSpec.of("wild", "*.multi.test"), CA);
    static final Issued OTHER = TestPki.leaf(LeafSpec.of("other", "other.test"), CA);
    static final List<String> MULTI = List.of("multi.test", "*.multi.test", "other.test");

    private void multiSite() {
        certificates.setSites(List.of(site("multi", MULTI.toArray(String[]::new)), site("small", "small.test")));
    }

    @Test
    void aWildcardUploadKeepsTheTenantsOtherCertificatesAndEachNameGetsTheMostSpecificOne() throws Exception {
        multiSite();
        certificates.put("multi", bundle(APEX, CA), MULTI);
        certificates.put("multi", bundle(OTHER, CA), MULTI);
        CertificateStore.Installed wild = certificates.put("multi", bundle(WILD, CA), MULTI, CertificateStore.Origin.UPLOAD);
        assertThat(wild.replaced()).isEmpty();

        assertThat(presentedCn("multi.test")).isEqualTo("CN=apex");
        assertThat(presentedCn("www.multi.test")).isEqualTo("CN=apex"); // named exactly beats the wildcard
        assertThat(presentedCn("api.multi.test")).isEqualTo("CN=wild");
        assertThat(presentedCn("other.test")).isEqualTo("CN=other");
        assertThat(certificates.certificatesOf("multi")).extracting(c -> c.bundle().dnsNames())
                .containsExactly(List.of("*.multi.test"), List.of("multi.test", "www.multi.test"), List.of("other.test"));
        assertThat(storedFiles("multi")).hasSize(3);
    }

    @Test
    void theSameNamesOrMoreReplaceFewerNamesDoNot() throws Exception {
        multiSite();
        certificates.put("multi", bundle(APEX, CA), MULTI);
        Issued again = TestPki.leaf(LeafSpec.of("apex-again", "www.multi.test", "multi.test"), CA);
        assertThat(certificates.put("multi", bundle(again, CA), MULTI, CertificateStore.Origin.UPLOAD).replaced())
                .extracting(PemBundle::leaf).containsExactly(APEX.cert());
        assertThat(presentedCn("multi.test")).isEqualTo("CN=apex-again");
        assertThat(storedFiles("multi")).hasSize(1);

        Issued fewer = TestPki.leaf(LeafSpec.of("fewer", "multi.test"), CA);
        assertThat(certificates.put("multi", bundle(fewer, CA), MULTI, CertificateStore.Origin.UPLOAD).replaced()).isEmpty();
        assertThat(certificates.certificatesOf("multi")).hasSize(2);

        Issued more = TestPki.leaf(LeafSpec.of("more", "multi.test", "www.multi.test", "other.test"), CA);
        assertThat(certificates.put("multi", bundle(more, CA), MULTI, CertificateStore.Origin.UPLOAD).replaced())
                .extracting(PemBundle::leaf).containsExactlyInAnyOrder(again.cert(), fewer.cert());
        assertThat(certificates.certificatesOf("multi")).singleElement()
                .satisfies(c -> assertThat(c.bundle().leaf()).isEqualTo(more.cert()));
        assertThat(storedFiles("multi")).hasSize(1);
    }

    @Test
    void removingByNameTakesOnlyTheCertificatesNamingItAsWritten() throws Exception {
        multiSite();
        certificates.put("multi", bundle(APEX, CA), MULTI);
        certificates.put("multi", bundle(WILD, CA), MULTI);
        certificates.put("small", bundle(SMALL, CA), List.of("small.test"));

        assertThat(certificates.remove("multi", "api.multi.test")).as("no certificate names it as written").isEmpty();
        assertThat(certificates.remove("multi", "small.test")).as("another tenant's name").isEmpty();
        assertThat(certificates.remove("multi", "*.MULTI.test")).extracting(PemBundle::leaf).containsExactly(WILD.cert());
        assertThat(presentedCn("api.multi.test")).isEqualTo("CN=platform.test");
        assertThat(presentedCn("www.multi.test")).isEqualTo("CN=apex");
        assertThat(presentedCn("small.test")).isEqualTo("CN=small");
        assertThat(storedFiles("multi")).hasSize(1);
    }

    @Test
    void anExpiredCertificateNeverWinsOverAValidOne() throws Exception {
        MovableClock clock = new MovableClock();
        certificates.close();
        certificates = new CertificateStore(store, "platform.test", clock);
        multiSite();
        java.time.Instant now = clock.instant();
        Issued shortLived = TestPki.leaf(LeafSpec.of("short", "www.multi.test").valid(now.minusSeconds(60),
                now.plus(java.time.Duration.ofDays(1))), CA);
        Issued longWild = TestPki.leaf(LeafSpec.of("long-wild", "*.multi.test").valid(now.minusSeconds(60),
                now.plus(java.time.Duration.ofDays(30))), CA);
        Issued longApex = TestPki.leaf(LeafSpec.of("long-apex", "multi.test").valid(now.minusSeconds(60),
                now.plus(java.time.Duration.ofDays(30))), CA);
        certificates.put("multi", bundle(shortLived, CA), MULTI);
        certificates.put("multi", bundle(longWild, CA), MULTI);
        certificates.put("multi", bundle(longApex, CA), MULTI);
        Path platformFile = dir.resolve("platform.pem");
        Files.write(platformFile, bundle(TestPki.leaf(LeafSpec.of("platform-other", "other.test").valid(
                now.minusSeconds(60), now.plus(java.time.Duration.ofDays(30))), CA), CA));
        certificates.usePlatformCertificate(platformFile, platformFile);
        assertThat(presentedCn("www.multi.test")).isEqualTo("CN=short");

        clock.advance(java.time.Duration.ofDays(2));
        assertThat(presentedCn("www.multi.test")).as("the exact name has expired").isEqualTo("CN=long-wild");
        assertThat(presentedCn("multi.test")).isEqualTo("CN=long-apex");
    }

    @Test
    void aTenantHasAtMostItsCapOfCertificatesAndARefusalChangesNothing() throws Exception {
        List<String> domains = List.of("*.cap.test");
        certificates.setSites(List.of(site("cap", "*.cap.test")));
        for (int i = 0; i < CertificateStore.MAX_PER_TENANT; i++) {
            certificates.put("cap", bundle(TestPki.leaf(LeafSpec.of("n" + i, "n" + i + ".cap.test"), CA), CA), domains);
        }
        Issued over = TestPki.leaf(LeafSpec.of("over", "over.cap.test"), CA);
        assertThatThrownBy(() -> certificates.put("cap", bundle(over, CA), domains))
                .isInstanceOf(CertificateRefused.class)
                .hasMessageContaining("has 32 certificates").hasMessageContaining("the most one tenant may have (32)");
        assertThat(storedFiles("cap")).hasSize(CertificateStore.MAX_PER_TENANT);
        assertThat(presentedCn("over.cap.test")).isEqualTo("CN=platform.test");
        // one carrying some of their names replaces them, so it is not refused
        Issued merged = TestPki.leaf(LeafSpec.of("merged", "n0.cap.test", "n1.cap.test", "over.cap.test"), CA);
        assertThat(certificates.put("cap", bundle(merged, CA), domains, CertificateStore.Origin.UPLOAD).replaced()).hasSize(2);
        assertThat(certificates.certificatesOf("cap")).hasSize(CertificateStore.MAX_PER_TENANT - 1);
        assertThat(presentedCn("over.cap.test")).isEqualTo("CN=merged");
    }

    @Test
    void severalCertificatesAndTheirOriginsOutliveARestart() throws Exception {
        multiSite();
        certificates.put("multi", bundle(APEX, CA), MULTI, CertificateStore.Origin.ACME);
        certificates.put("multi", bundle(WILD, CA), MULTI, CertificateStore.Origin.UPLOAD);

        var restarted = new CertificateStore(store, "platform.test");
        try {
            restarted.setSites(List.of(site("multi", MULTI.toArray(String[]::new))));
            assertThat(restarted.loadProblems()).isEmpty();
            assertThat(restarted.certificatesOf("multi")).extracting(c -> c.origin() + " " + c.bundle().dnsNames() + " " + c.presented())
                    .containsExactly("UPLOAD [*.multi.test] true", "ACME [multi.test, www.multi.test] true");
            assertThat(restarted.presentedFor("www.multi.test").leaf()).isEqualTo(APEX.cert());
            assertThat(restarted.presentedFor("api.multi.test").leaf()).isEqualTo(WILD.cert());
        } finally {
            restarted.close();
        }
    }

    @Test
    void anAcmeCertificateReplacesEarlierAcmeOnesButNeverAnUpload() throws Exception {
        multiSite();
        certificates.put("multi", bundle(APEX, CA), MULTI, CertificateStore.Origin.ACME);
        certificates.put("multi", bundle(WILD, CA), MULTI, CertificateStore.Origin.UPLOAD);
        // the tenant dropped www: ACME now covers multi.test alone, which is fewer names than before
        Issued renewed = TestPki.leaf(LeafSpec.of("renewed", "multi.test"), CA);
        assertThat(certificates.put("multi", bundle(renewed, CA), MULTI, CertificateStore.Origin.ACME).replaced())
                .extracting(PemBundle::leaf).containsExactly(APEX.cert());
        assertThat(certificates.certificatesOf("multi")).extracting(c -> c.origin() + " " + c.bundle().dnsNames())
                .containsExactly("UPLOAD [*.multi.test]", "ACME [multi.test]");
    }

    @Test
    void aCertificateOfTheOldOneFilePerTenantLayoutIsMovedWithItsRecordedOrigin() throws Exception {
        certificates.close();
        Files.write(store.resolve("multi.pem"), bundle(APEX, CA));
        certificates = new CertificateStore(store, "platform.test", java.time.Clock.systemUTC(),
                tenant -> tenant.equals("multi") ? CertificateStore.Origin.ACME : CertificateStore.Origin.UPLOAD);
        multiSite();
        assertThat(certificates.loadProblems()).isEmpty();
        assertThat(Files.exists(store.resolve("multi.pem"))).isFalse();
        assertThat(storedFiles("multi")).singleElement().asString().contains("acme-");
        assertThat(presentedCn("www.multi.test")).isEqualTo("CN=apex");
    }

    /** The tenant's stored certificate files. */
    private List<Path> storedFiles(String tenant) throws java.io.IOException {
        Path tenantDir = store.resolve(tenant);
        if (!Files.isDirectory(tenantDir)) return List.of();
        try (var files = Files.list(tenantDir)) {
            return files.sorted().toList();
        }
    }

    /** A clock the test moves forward. */
    private static final class MovableClock extends java.time.Clock {
        private java.time.Instant now = java.time.Instant.now();

        void advance(java.time.Duration by) {
            now = now.plus(by);
        }

        @Override
        public java.time.ZoneId getZone() {
            return java.time.ZoneOffset.UTC;
        }

        @Override
        public java.time.Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public java.time.Instant instant() {
            return now;
        }
    }

    /** The context a name selects, without keeping a reference to it. */
    private ReferenceCounted peek(String serverName) {
        ReferenceCounted context = (ReferenceCounted) certificates.acquire(serverName);
        context.release();
        return context;
    }
}
