package dev.emperor.supervisor.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.emperor.proxy.FrontProxy;
import dev.emperor.proxy.ProxyOptions;
import dev.emperor.proxy.TenantSite;
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
import dev.emperor.supervisor.state.EventKind;
import dev.emperor.supervisor.state.EventRow;
import dev.emperor.supervisor.state.StateStore;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.local.LocalIoHandler;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The routes with domain ownership: what the proxy routes, which certificates are accepted and
 * which names ACME is asked for, when a tenant names another tenant's domain. Each "run" opens
 * the state database afresh (an emperor restart) and applies files in the order the test says.
 */
class TenantRoutesDomainsTest {
    @TempDir
    Path tmp;
    EventLoopGroup loops;
    /** The names each ACME order asked for. */
    final List<List<String>> orders = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        loops = new MultiThreadIoEventLoopGroup(1, LocalIoHandler.newFactory());
        Files.createDirectories(tmp.resolve("distros/bookworm"));
        Files.writeString(tmp.resolve("passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    }

    @AfterEach
    void tearDown() {
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private VassalConfig file(String name, String... domains) throws Exception {
        StringBuilder ini = new StringBuilder("[vassal]\nexec = true\n");
        for (String domain : domains) ini.append("domain = ").append(domain).append('\n');
        Path file = Files.writeString(tmp.resolve(name + ".ini"), ini);
        return VassalFiles.load(file, new HostVassalEnvironment(tmp.resolve("distros"), tmp.resolve("passwd"), 64L << 20));
    }

    private String routedTenant(Run run, String host) {
        TenantSite site = run.proxy.sites().find(host);
        return site == null ? null : site.tenant();
    }

    @Test
    void aTenantNamingAnotherTenantsLiveDomainNeverGetsItNotEvenAfterARestartThatReadsItFirst() throws Exception {
        try (Run run = new Run()) {
            run.routes.apply("shop", file("shop", "shop.example"));
            run.routes.apply("evil", file("evil", "shop.example", "evil.example"));
            assertThat(routedTenant(run, "shop.example")).isEqualTo("shop");
            assertThat(routedTenant(run, "evil.example")).isEqualTo("evil");
            assertThat(run.routes.problems("evil")).singleElement().asString()
                    .contains("domain shop.example refused: already served by tenant shop");
            assertThat(run.routes.refusedDomains("evil")).extracting(DomainOwnership.Refusal::owner).containsExactly("shop");
            assertThat(run.routes.problems("shop")).isEmpty();
        }
        try (Run run = new Run()) {
            // alphabetical order at start: evil's file first
            run.routes.apply("evil", file("evil", "shop.example", "evil.example"));
            run.routes.apply("shop", file("shop", "shop.example"));
            assertThat(routedTenant(run, "shop.example")).isEqualTo("shop");
            assertThat(run.routes.ownedSite("evil").orElseThrow().domains()).containsExactly("evil.example");
        }
    }

    @Test
    void aRefusalIsOneEventNotOnePerRebuild() throws Exception {
        try (Run run = new Run()) {
            run.routes.apply("shop", file("shop", "shop.example"));
            run.routes.apply("evil", file("evil", "shop.example"));
            for (int i = 0; i < 5; i++) {
                run.routes.apply("other" + i, file("other" + i, "other" + i + ".example"));
                run.routes.setMaintenance("shop", i % 2 == 0);
            }
            assertThat(domainEvents(run, "evil")).singleElement().asString()
                    .contains("shop.example refused").contains("tenant shop");
            assertThat(domainEvents(run, "shop")).containsExactly("domain shop.example claimed"); // never disturbed
        }
    }

    @Test
    void aNameReleasedByItsOwnersFileGoesToTheTenantWaitingForIt() throws Exception {
        try (Run run = new Run()) {
            run.routes.apply("shop", file("shop", "shop.example", "keep.example"));
            run.routes.apply("evil", file("evil", "shop.example"));
            run.routes.apply("shop", file("shop", "keep.example"));
            assertThat(routedTenant(run, "shop.example")).isEqualTo("evil");
            assertThat(run.routes.problems("evil")).isEmpty();
            assertThat(domainEvents(run, "shop")).contains("domain shop.example released (no longer in the vassal file)");
        }
    }

    @Test
    void aRetiredTenantsNamesStayItsOwnAcrossARestartUntilItIsPurged() throws Exception {
        try (Run run = new Run()) {
            run.routes.apply("shop", file("shop", "shop.example"));
            run.routes.forget("shop"); // its file removed: retired
            assertThat(routedTenant(run, "shop.example")).as("nothing of a retired tenant is served").isNull();
        }
        try (Run run = new Run()) {
            run.routes.apply("evil", file("evil", "shop.example"));
            assertThat(routedTenant(run, "shop.example")).as("a retired tenant's name is not up for grabs").isNull();
            assertThat(run.routes.refusedDomains("evil")).extracting(DomainOwnership.Refusal::owner).containsExactly("shop");
            assertThat(run.routes.purged("shop")).containsExactly("shop.example");
            assertThat(routedTenant(run, "shop.example")).as("the waiting tenant gets it once shop is purged")
                    .isEqualTo("evil");
        }
    }

    @Test
    void anUploadedCertificateNamingADomainTheTenantDoesNotHoldIsRefusedAndNeverServed() throws Exception {
        try (Run run = new Run()) {
            run.routes.apply("shop", file("shop", "shop.example"));
            run.routes.apply("evil", file("evil", "shop.example", "evil.example"));
            assertThatThrownBy(() -> run.routes.putCertificate("evil",
                    AcmeRestartTest.selfSigned(List.of("evil.example", "shop.example"))))
                    .isInstanceOf(CertificateRefused.class).hasMessageContaining("shop.example");
            assertThat(run.routes.certificates("evil")).isEmpty();
            run.routes.putCertificate("evil", AcmeRestartTest.selfSigned(List.of("evil.example")));
            assertThat(run.routes.certificateStore().presentedFor("shop.example").dnsNames()).doesNotContain("shop.example");
            assertThat(run.routes.certificateStore().presentedFor("evil.example").dnsNames()).containsExactly("evil.example");
        }
    }

    @Test
    void aCertificateStoredBeforeATransferIsNoLongerServedForTheNameTransferredAway() throws Exception {
        try (Run run = new Run()) {
            run.routes.apply("a", file("a", "shop.example"));
            run.routes.apply("b", file("b", "shop.example"));
            run.routes.putCertificate("a", AcmeRestartTest.selfSigned(List.of("shop.example")));
            assertThat(run.routes.certificateStore().presentedFor("shop.example").dnsNames()).containsExactly("shop.example");
            assertThatThrownBy(() -> run.routes.transferDomain("shop.example", "a", "c"))
                    .hasMessageContaining("tenant c's vassal file does not name shop.example");
            assertThat(run.routes.transferDomain("shop.example", "a", "b")).containsExactly("shop.example");
            assertThat(routedTenant(run, "shop.example")).isEqualTo("b");
            assertThat(run.routes.refusedDomains("a")).extracting(DomainOwnership.Refusal::owner).containsExactly("b");
            assertThat(run.routes.certificateStore().presentedFor("shop.example").dnsNames()).isNotEqualTo(List.of("shop.example"));
        }
    }

    @Test
    void acmeNeverOrdersANameTheTenantDoesNotHold() throws Exception {
        try (Run run = new Run()) {
            run.routes.apply("shop", file("shop", "shop.example"));
        }
        try (Run run = new Run()) {
            run.routes.apply("evil", file("evil", "shop.example", "evil.example"));
            run.routes.apply("shop", file("shop", "shop.example"));
            run.acme.issue("evil").get(10, TimeUnit.SECONDS);
            assertThat(orders).containsExactly(List.of("evil.example"));

            run.routes.apply("evil", file("evil", "shop.example"));
            assertThatThrownBy(() -> run.acme.issue("evil").get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).hasMessageContaining("holds none of the domains").hasMessageContaining("tenant shop");
            assertThat(orders).hasSize(1);
        }
    }

    @Test
    void acmeOrdersOnlyTheNamesNoUploadCoversAndBothCertificatesServeSideBySide() throws Exception {
        try (Run run = new Run()) {
            run.routes.apply("shop", file("shop", "shop.example", "www.shop.example", "*.shop.example", "other.example"));
            run.routes.putCertificate("shop", AcmeRestartTest.selfSigned(List.of("other.example")));
            run.routes.putCertificate("shop", AcmeRestartTest.selfSigned(List.of("*.shop.example")));
            run.acme.issue("shop").get(10, TimeUnit.SECONDS);
            // www.shop.example is covered by the uploaded wildcard, other.example by its upload
            assertThat(orders).containsExactly(List.of("shop.example"));
            assertThat(run.routes.certificates("shop")).extracting(c -> c.origin() + " " + c.names())
                    .containsExactly("upload [*.shop.example]", "upload [other.example]", "acme [shop.example]");
            CertificateStore served = run.routes.certificateStore();
            assertThat(served.presentedFor("shop.example").dnsNames()).containsExactly("shop.example");
            assertThat(served.presentedFor("www.shop.example").dnsNames()).containsExactly("*.shop.example");
            assertThat(served.presentedFor("other.example").dnsNames()).containsExactly("other.example");

            // the next issuance replaces the ACME certificate only; the uploads stay
            run.acme.issue("shop").get(10, TimeUnit.SECONDS);
            assertThat(run.routes.certificates("shop")).hasSize(3);
            // with every name uploaded, nothing is left to order
            run.routes.putCertificate("shop", AcmeRestartTest.selfSigned(List.of("shop.example")));
            assertThat(run.routes.certificates("shop")).extracting(c -> c.origin() + " " + c.names())
                    .containsExactly("upload [*.shop.example]", "upload [other.example]", "upload [shop.example]");
            assertThatThrownBy(() -> run.acme.issue("shop").get(10, TimeUnit.SECONDS))
                    .hasMessageContaining("no domain ACME can issue for").hasMessageContaining("has an uploaded certificate");
        }
    }

    private static List<String> domainEvents(Run run, String tenant) {
        List<String> found = new ArrayList<>();
        for (EventRow row : run.store.events().newest(tenant, 100).reversed()) {
            if (row.kind() == EventKind.DOMAIN) found.add(row.detail());
        }
        return found;
    }

    /** One emperor run over the same state directory and certificate directory. */
    private final class Run implements AutoCloseable {
        final StateStore store;
        final FrontProxy proxy;
        final TenantRoutes routes;
        final AcmeCertificates acme;

        Run() throws Exception {
            store = StateStore.open(tmp.resolve("state"));
            proxy = new FrontProxy(ProxyOptions.defaults(), loops, new PendingChallenges(), tmp.resolve("access"));
            routes = new TenantRoutes(proxy, new CertificateStore(tmp.resolve("certs"), null),
                    new PortAllocator(20000, 20009, store.ports()), new PortForwarder(loops), store,
                    new DomainOwnership(store, List::of, Clock.systemUTC()), tmp.resolve("run"), name -> "10.0.0.2");
            ProxySettings defaults = ProxySettings.defaults(tmp.resolve("state"), tmp.resolve("log"));
            AcmeSettings acmeSettings = new AcmeSettings(URI.create("https://ca.test/dir"), Optional.empty(),
                    Optional.empty(), AcmeSettings.DEFAULT_RENEW_DAYS, false);
            ProxySettings settings = new ProxySettings(defaults.httpListen(), defaults.httpsListen(), Optional.empty(),
                    Optional.empty(), Optional.empty(), tmp.resolve("certs"), 20000, 20009, tmp.resolve("access"),
                    Optional.of(acmeSettings), defaults.clientLimits());
            acme = new AcmeCertificates(routes, store, () -> settings, Clock.systemUTC(), (unused, site, installer) -> {
                orders.add(List.copyOf(site.domains()));
                try {
                    return installer.install(site.tenant(), AcmeRestartTest.selfSigned(site.domains()), site.domains());
                } catch (Exception e) {
                    throw new dev.emperor.proxy.acme.AcmeFailure("refused: " + e.getMessage(), e);
                }
            });
        }

        @Override
        public void close() {
            acme.close();
            routes.certificateStore().close();
            proxy.close();
            store.close();
        }
    }
}
