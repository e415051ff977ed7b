package dev.emperor.supervisor.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.proxy.FrontProxy;
import dev.emperor.proxy.ProxyOptions;
import dev.emperor.proxy.acme.AcmeFailure;
import dev.emperor.proxy.acme.PendingChallenges;
import dev.emperor.proxy.l4.PortAllocator;
import dev.emperor.proxy.l4.PortForwarder;
import dev.emperor.proxy.tls.CertificateRefused;
import dev.emperor.proxy.tls.CertificateStore;
import dev.emperor.supervisor.config.AcmeSettings;
import dev.emperor.supervisor.config.HostVassalEnvironment;
import dev.emperor.supervisor.config.ProxySettings;
import dev.emperor.supervisor.config.VassalConfig;
import dev.emperor.supervisor.config.VassalFiles;
import dev.emperor.supervisor.domains.DomainOwnership;
import dev.emperor.supervisor.state.AcmeRetry;
import dev.emperor.supervisor.state.StateStore;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.local.LocalIoHandler;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ACME back-off across emperor restarts: each "run" opens the state database afresh and
 * builds new routes and a new {@link AcmeCertificates} over it, with a stand-in CA that counts
 * orders and a clock the test moves.
 */
class AcmeRestartTest {

    @TempDir
    Path tmp;

    EventLoopGroup loops;
    ManualClock clock;
    /** Orders that reached the CA. */
    final AtomicInteger orders = new AtomicInteger();
    /** Whether the CA issues (else it refuses, like a failed HTTP-01 validation). */
    volatile boolean caIssues;
    ProxySettings settings;
    VassalConfig shop;

    @BeforeEach
    void setUp() throws Exception {
        loops = new MultiThreadIoEventLoopGroup(1, LocalIoHandler.newFactory());
        clock = new ManualClock(Instant.now().truncatedTo(ChronoUnit.SECONDS));
        ProxySettings defaults = ProxySettings.defaults(tmp.resolve("state"), tmp.resolve("log"));
        AcmeSettings acme = new AcmeSettings(URI.create("https://ca.test/dir"), Optional.empty(), Optional.empty(),
                AcmeSettings.DEFAULT_RENEW_DAYS, true);
        settings = new ProxySettings(defaults.httpListen(), defaults.httpsListen(), Optional.empty(), Optional.empty(),
                Optional.empty(), tmp.resolve("certs"), 20000, 20009, tmp.resolve("access"), Optional.of(acme),
                defaults.clientLimits(), defaults.portLimits(), defaults.domainAllow(), defaults.portListen());
        Files.createDirectories(tmp.resolve("distros/bookworm"));
        Files.writeString(tmp.resolve("passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        Path file = Files.writeString(tmp.resolve("shop.ini"), "[vassal]\nexec = true\ndomain = shop.example.com\n");
        shop = VassalFiles.load(file, new HostVassalEnvironment(tmp.resolve("distros"), tmp.resolve("passwd"), 64L << 20));
    }

    @AfterEach
    void tearDown() {
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void theBackOffOfFailedIssuancesOutlivesARestartAndEndsWithTheCertificate() throws Exception {
        Instant failedAt = clock.instant();
        try (Run run = new Run()) {
            AcmeCertificates.RenewalReport report = run.renew();
            assertThat(report.failed()).isEqualTo(1);
            assertThat(report.lines()).singleElement(InstanceOfAssertFactories.STRING).contains("attempt 1, next in 10m");
        }
        assertThat(orders).hasValue(1);

        clock.set(failedAt.plus(Duration.ofMinutes(9)));
        try (Run run = new Run()) {
            run.acme.start(); // the pass at start, then `emperor cert renew`'s behind it on the same thread
            AcmeCertificates.RenewalReport report = run.renew();
            assertThat(orders).as("no order before the back-off ends, restart or not").hasValue(1);
            assertThat(report.failed()).isEqualTo(1);
            assertThat(report.lines()).containsExactly("shop: automatic issuance waits after 1 failure(s), next attempt at "
                    + failedAt.plus(Duration.ofMinutes(10)));

            clock.set(failedAt.plus(Duration.ofMinutes(10)));
            report = run.renew();
            assertThat(orders).hasValue(2);
            assertThat(report.lines()).singleElement(InstanceOfAssertFactories.STRING).contains("attempt 2, next in 20m");
        }

        Instant secondFailure = failedAt.plus(Duration.ofMinutes(10));
        try (Run run = new Run()) {
            assertThat(run.store.certificates().acmeRetries()).containsExactly(
                    Map.entry("shop", new AcmeRetry(2, secondFailure.plus(Duration.ofMinutes(20)))));
            clock.set(secondFailure.plus(Duration.ofMinutes(20)));
            caIssues = true;
            AcmeCertificates.RenewalReport report = run.renew();
            assertThat(orders).hasValue(3);
            assertThat(report.failed()).isZero();
            assertThat(run.store.certificates().acmeRetries()).isEmpty();
        }

        try (Run run = new Run()) {
            assertThat(run.store.certificates().acmeRetries()).isEmpty();
            assertThat(run.routes.certificates("shop")).isNotEmpty();
            assertThat(run.renew().lines()).isEmpty(); // issued and far from expiry: nothing to do
            assertThat(orders).hasValue(3);
        }
    }

    @Test
    void aRemovedTenantsBackOffIsForgottenInTheStoreToo() throws Exception {
        try (Run run = new Run()) {
            run.renew();
            assertThat(run.store.certificates().acmeRetries()).containsOnlyKeys("shop");
            run.routes.forget("shop"); // the vassal file is gone for good
            run.renew(); // runs after the forgetting, on the same thread
            assertThat(run.store.certificates().acmeRetries()).isEmpty();
        }
        try (Run run = new Run()) {
            assertThat(run.renew().lines()).containsExactly(
                    "shop: automatic issuance failed (attempt 1, next in 10m): the CA refused");
        }
    }

    @Test
    void aBackOffThatHasRunOutForATenantWithNothingDueDoesNotKeepThePassesSpinning() throws Exception {
        // The tenant failed, then its operator uploaded a certificate: no pass replaces its back-off
        // any more (a row of a tenant removed while the emperor was down is the same).
        AtomicInteger passes = new AtomicInteger();
        try (Run run = new Run(() -> {
            passes.incrementAndGet(); // every pass reads the settings once
            return settings;
        })) {
            run.renew();
            run.routes.putCertificate("shop", selfSigned(List.of("shop.example.com")));
            clock.set(clock.instant().plus(Duration.ofMinutes(11)));
            passes.set(0);
            run.acme.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (passes.get() == 0 && System.nanoTime() < deadline) Thread.sleep(5);
            Thread.sleep(300);
            assertThat(passes).as("passes run after start").hasValue(1);
            assertThat(orders).hasValue(1);
        }
    }

    @Test
    void aBackOffStartedByCertRenewBringsTheNextTimedPassForward() throws Exception {
        try (Run run = new Run()) {
            assertThat(run.acme.nextPassDelay()).as("not started: no timed pass yet").isNull();
            assertThat(run.renew().failed()).isEqualTo(1); // `emperor cert renew`, the CA refuses
            assertThat(run.acme.nextPassDelay()).as("the retry in 10 minutes, not the 12-hour check")
                    .isBetween(Duration.ofMinutes(9), Duration.ofMinutes(10));
        }
    }

    /** One emperor run: the state database opened afresh, routes with the tenant's site, and ACME over both. */
    private final class Run implements AutoCloseable {
        final StateStore store;
        final FrontProxy proxy;
        final TenantRoutes routes;
        final AcmeCertificates acme;

        Run() throws Exception {
            this(() -> settings);
        }

        Run(java.util.function.Supplier<ProxySettings> proxySettings) throws Exception {
            store = StateStore.open(tmp.resolve("state"));
            proxy = new FrontProxy(ProxyOptions.defaults(), loops, new PendingChallenges(), tmp.resolve("access"));
            routes = new TenantRoutes(proxy, new CertificateStore(tmp.resolve("certs"), null),
                    new PortAllocator(20000, 20009, store.ports()), new PortForwarder(loops), store,
                    new DomainOwnership(store, List::of, clock), tmp.resolve("run"), name -> "10.0.0.2");
            acme = new AcmeCertificates(routes, store, proxySettings, clock, (acmeSettings, site, installer) -> {
                orders.incrementAndGet();
                if (!caIssues) throw new AcmeFailure("the CA refused");
                try {
                    return installer.install(site.tenant(), selfSigned(site.domains()), site.domains());
                } catch (CertificateRefused | IOException e) {
                    throw new AcmeFailure("the issued certificate was refused: " + e.getMessage(), e); // as AcmeIssuer does
                }
            });
            routes.onTenantForgotten(acme::forget);
            routes.apply("shop", shop);
        }

        AcmeCertificates.RenewalReport renew() throws Exception {
            return acme.renewNow().get(10, TimeUnit.SECONDS);
        }

        @Override
        public void close() {
            acme.close();
            routes.certificateStore().close();
            proxy.close();
            store.close();
        }
    }

    /** A key and a self-signed certificate for the names, valid now for 90 days, as one PEM bundle. */
    static byte[] selfSigned(List<String> names) {
        try {
            return selfSignedPem(names);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] selfSignedPem(List<String> names) throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair keys = generator.generateKeyPair();
        Instant now = Instant.now();
        var builder = new JcaX509v3CertificateBuilder(new X500Name("CN=" + names.getFirst()), BigInteger.ONE,
                Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(90))),
                new X500Name("CN=" + names.getFirst()), keys.getPublic());
        builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.stream()
                .map(name -> new GeneralName(GeneralName.dNSName, name)).toArray(GeneralName[]::new)));
        builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
        var cert = new JcaX509CertificateConverter().getCertificate(
                builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
        StringWriter text = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
            writer.writeObject(new JcaPKCS8Generator(keys.getPrivate(), null));
            writer.writeObject(cert);
        }
        return text.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static final class ManualClock extends Clock {
        private volatile Instant now;

        ManualClock(Instant now) {
            this.now = now;
        }

        void set(Instant instant) {
            now = instant;
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }
    }
}
