package dev.emperor.proxy.acme;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.emperor.proxy.TenantSite;
import dev.emperor.proxy.Upstream;
import dev.emperor.proxy.tls.CertificateStore;
import dev.emperor.proxy.tls.PemBundle;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issuance against a real pebble that really fetches the HTTP-01 answers from us. */
class AcmeIssuerTest {

    private static final String PREFIX = "/.well-known/acme-challenge/";

    @TempDir
    Path dir;
    PendingChallenges challenges = new PendingChallenges();
    AtomicBoolean answering = new AtomicBoolean(true);
    Set<String> fetchedHosts = ConcurrentHashMap.newKeySet();
    HttpServer http;
    Pebble pebble;
    CertificateStore store;

    @BeforeEach
    void start() throws Exception {
        // The plain-HTTP listener's job, reduced to what HTTP-01 needs.
        http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        http.createContext(PREFIX, exchange -> {
            String host = exchange.getRequestHeaders().getFirst("Host");
            String token = exchange.getRequestURI().getPath().substring(PREFIX.length());
            fetchedHosts.add(host.replaceFirst(":[0-9]+$", ""));
            var answer = answering.get() ? challenges.keyAuthorization(host, token) : java.util.Optional.<String>empty();
            byte[] body = answer.orElse("no such challenge").getBytes(StandardCharsets.US_ASCII);
            exchange.sendResponseHeaders(answer.isPresent() ? 200 : 404, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        http.start();
        pebble = new Pebble(dir, http.getAddress().getPort());
        store = new CertificateStore(dir.resolve("certs"), "platform.test");
    }

    @AfterEach
    void stop() {
        if (pebble != null) {
            pebble.close();
        }
        http.stop(0);
    }

    private static TenantSite site(String tenant, String... domains) {
        return new TenantSite(tenant, List.of(domains), new Upstream.Tcp("10.0.0.2", 80), null, false, false, 1 << 20, 10);
    }

    private AcmeIssuer issuer() {
        return new AcmeIssuer(pebble.directory(), dir.resolve("acme/account.pem"), "ops@platform.test", pebble.tlsCa, challenges, store::put);
    }

    @Test
    void issuesAValidatedCertificateForTheNonWildcardDomainsAndServesIt() throws Exception {
        TenantSite shop = site("shop", "shop.acme.test", "www.shop.acme.test", "*.wild.shop.acme.test");
        store.setSites(List.of(shop));

        PemBundle issued;
        try {
            issued = issuer().issue(shop);
        } catch (AcmeFailure e) {
            throw new AssertionError(e.getMessage() + "\npebble said:\n" + pebble.output(), e);
        }

        assertThat(issued.dnsNames()).containsExactlyInAnyOrder("shop.acme.test", "www.shop.acme.test");
        assertThat(issued.chain()).hasSizeGreaterThanOrEqualTo(2); // leaf + pebble's intermediate
        assertThat(fetchedHosts).contains("shop.acme.test", "www.shop.acme.test"); // pebble really asked us
        assertThat(store.presentedFor("www.shop.acme.test").leaf()).isEqualTo(issued.leaf());
        assertThat(challenges.size()).isZero();
        Path accountKey = dir.resolve("acme/account.pem");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(accountKey))).isEqualTo("rw-------");

        byte[] key = Files.readAllBytes(accountKey);
        PemBundle again = issuer().issue(shop); // same account, a fresh certificate
        assertThat(Files.readAllBytes(accountKey)).isEqualTo(key);
        assertThat(again.leaf()).isNotEqualTo(issued.leaf());
        assertThat(store.presentedFor("shop.acme.test").leaf()).isEqualTo(again.leaf());
    }

    @Test
    void unansweredChallengeFailsWithTheCasReasonAndKeepsTheOldCertificate() throws Exception {
        TenantSite shop = site("shop", "shop.acme.test");
        store.setSites(List.of(shop));
        PemBundle first = issuer().issue(shop);

        answering.set(false);
        assertThatThrownBy(() -> issuer().issue(shop))
                .isInstanceOf(AcmeFailure.class)
                .hasMessageContaining("did not validate shop.acme.test")
                .hasMessageContaining("404"); // the CA's own words: it got our 404
        assertThat(store.presentedFor("shop.acme.test").leaf()).isEqualTo(first.leaf());
        assertThat(challenges.size()).isZero();
    }

    @Test
    void siteWithOnlyWildcardsIsRefusedBeforeAskingTheCa() {
        assertThatThrownBy(() -> issuer().issue(site("wild", "*.wild.test")))
                .isInstanceOf(AcmeFailure.class)
                .hasMessageContaining("HTTP-01 cannot prove wildcards");
    }
}
