package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.emperor.tests.TenantWebApp.Curl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A domain belongs to the tenant that claimed it first, end to end: a tenant that names another
 * tenant's live domain (or a name under its wildcard, or a wildcard over its name) in its own
 * file never gets it, across an emperor restart that reads the files in the other order and
 * while the owner's file is invalid; the owner keeps serving. The name moves only when its
 * owner's file drops it or the operator transfers it; domain-allow needs the operator's approval.
 */
class DomainOwnershipTest {
    private EmperorProcess emperor;

    @AfterEach
    void tearDown() {
        if (emperor == null) return;
        for (String name : List.of("shop", "evil", "wide", "api", "inside", "outside")) { // for the report when something failed
            System.out.println("--- events of " + name + ":\n" + emperor.command("events", name, "-n", "50").out());
        }
        emperor.close();
    }

    private EmperorProcess start(String... settings) {
        emperor = new EmperorProcess();
        TenantWebApp.install(emperor);
        for (int i = 0; i < settings.length; i += 2) emperor.set(settings[i], settings[i + 1]);
        return emperor.start();
    }

    private void tenant(String name, String... extra) {
        TenantWebApp.tenant(emperor, name, extra);
    }

    /** `emperor GROUP SUB -c emperor.ini ARGS...` (the -c option belongs to the subcommand). */
    private EmperorProcess.CliResult sub(String group, String sub, String... args) {
        List<String> all = new java.util.ArrayList<>(List.of(group, sub, "-c", emperor.configFile().toString()));
        all.addAll(List.of(args));
        return EmperorProcess.cli(all.toArray(String[]::new));
    }

    private Curl curl(String host) {
        return TenantWebApp.curl(emperor, host, false, "/");
    }

    private void waitForPage(String host, String expected) {
        emperor.waitFor(host + " to serve " + expected, Duration.ofSeconds(60),
                () -> curl(host).text().contains(expected), () -> curl(host).text());
    }

    /** Waits until the tenant's status shows {@code domain} refused with {@code owner} named; returns its status. */
    private JsonNode waitForRefusal(String tenant, String domain, String owner) {
        JsonNode[] last = new JsonNode[1];
        emperor.waitFor(tenant + "'s status to show " + domain + " refused, owner " + owner, Duration.ofSeconds(30), () -> {
            last[0] = emperor.statusOf(tenant);
            for (JsonNode r : last[0].path("refusedDomains")) {
                if (r.path("domain").asText().equals(domain) && r.path("owner").asText().equals(owner)) return true;
            }
            return false;
        }, () -> "last status: " + last[0]);
        return last[0];
    }

    private long refusalEvents(String tenant, String domain) {
        return emperor.command("events", tenant, "-n", "200").out().lines()
                .filter(line -> line.contains("domain " + domain + " refused")).count();
    }

    @Test
    void aTenantNeverTakesAnotherTenantsLiveDomainAcrossRestartsInvalidFilesAndUntilTheOwnerLetsGo() throws Exception {
        start();
        tenant("shop", "domain = shop.test");
        emperor.waitForRunning("shop");
        waitForPage("shop.test", "hello from shop");

        // the attack: evil names shop's live domain in its own file ("evil" is read before "shop" at start)
        tenant("evil", "domain = Shop.Test.", "domain = evil.test");
        emperor.waitForRunning("evil");
        emperor.waitFor("evil's status to show shop.test refused", Duration.ofSeconds(30),
                () -> emperor.statusOf("evil").path("webProblems").toString().contains("already served by tenant shop"));
        waitForPage("evil.test", "hello from evil");
        assertThat(curl("shop.test").text()).contains("hello from shop");

        // a certificate for the name is refused too
        TestCa ca = TestCa.create(Files.createDirectories(emperor.root().resolve("pki")));
        EmperorProcess.CliResult upload = sub("cert", "put", "evil", ca.bundleFor("shop.test").toString());
        assertThat(upload.code()).isEqualTo(1);
        assertThat(upload.err()).contains("shop.test");

        // restart: the files are read in alphabetical order, evil's first
        emperor.stop();
        emperor.start();
        emperor.waitForRunning("evil");
        emperor.waitForRunning("shop");
        waitForPage("shop.test", "hello from shop");
        waitForPage("evil.test", "hello from evil");
        JsonNode evil = waitForRefusal("evil", "shop.test", "shop");
        assertThat(evil.path("webProblems").toString()).contains("already served by tenant shop");
        assertThat(emperor.command("status", "evil").out()).contains("shop.test refused: already served by tenant shop");
        assertThat(emperor.statusOf("shop").path("refusedDomains")).isEmpty();

        // shop's file broken for a while: shop keeps its name (and keeps serving on its last valid file)
        emperor.vassal("shop", "exec = /usr/bin/python3 /opt/app.py shop", "distro = bookworm", "domain = shop.test",
                "memroy = 1");
        emperor.waitFor("shop's file to be seen invalid", Duration.ofSeconds(30),
                () -> emperor.statusOf("shop").path("lastError").asText().contains("memroy"));
        tenant("evil", "domain = shop.test", "domain = evil.test", "maintenance = false"); // evil's file changes meanwhile
        emperor.waitFor("evil's change to be applied", Duration.ofSeconds(30),
                () -> emperor.command("events", "evil", "-n", "200").out().contains("applied without a restart"));
        assertThat(curl("shop.test").text()).contains("hello from shop");
        waitForRefusal("evil", "shop.test", "shop");
        assertThat(refusalEvents("evil", "shop.test")).as("one event per refusal and emperor run, not per rescan")
                .isEqualTo(2);

        // restart while shop's file is invalid: shop's site is down, but the name stays shop's
        emperor.stop();
        emperor.start();
        emperor.waitForRunning("evil");
        waitForPage("evil.test", "hello from evil");
        assertThat(curl("shop.test").text()).doesNotContain("hello from evil");
        waitForRefusal("evil", "shop.test", "shop");
        tenant("shop", "domain = shop.test");
        waitForPage("shop.test", "hello from shop");

        // shop drops the line: evil, waiting for it, gets it at once
        tenant("shop", "domain = shop2.test");
        waitForPage("shop.test", "hello from evil");
        waitForPage("shop2.test", "hello from shop");
        assertThat(sub("domain", "list").out()).containsPattern("shop\\.test\\s+evil\\s+claimed");

        // shop wants it back: refused (evil holds it now) until the operator transfers it
        tenant("shop", "domain = shop2.test", "domain = shop.test");
        waitForRefusal("shop", "shop.test", "evil");
        assertThat(curl("shop.test").text()).contains("hello from evil");
        EmperorProcess.CliResult wrongOwner = sub("domain", "transfer", "shop.test", "shop", "evil");
        assertThat(wrongOwner.code()).isEqualTo(1);
        assertThat(wrongOwner.err()).contains("held by tenant evil, not shop");
        EmperorProcess.CliResult transfer = sub("domain", "transfer", "shop.test", "evil", "shop");
        assertThat(transfer.code()).as("transfer: %s", transfer.err()).isZero();
        waitForPage("shop.test", "hello from shop");
        waitForRefusal("evil", "shop.test", "shop");

        // shop's file removed: shop is retired, its names stay its own (evil is still refused)
        // until it is purged; then evil, waiting for it, gets it
        Files.delete(emperor.vassalsDir().resolve("shop.ini"));
        emperor.waitFor("shop retired", Duration.ofSeconds(30), () -> emperor.status("shop").isEmpty());
        waitForRefusal("evil", "shop.test", "shop");
        assertThat(curl("shop.test").text()).doesNotContain("hello from evil");
        EmperorProcess.CliResult purge = emperor.command("purge", "shop");
        assertThat(purge.code()).as("purge: %s", purge.err()).isZero();
        waitForPage("shop.test", "hello from evil");
    }

    @Test
    void wildcardsExcludeNamesBelowThemBothWays() {
        start();
        tenant("wide", "domain = *.shop.platform.test");
        emperor.waitForRunning("wide");
        waitForPage("x.shop.platform.test", "hello from wide");

        // a name below another tenant's wildcard: an exact name would win the routing if it were let in
        tenant("api", "domain = api.shop.platform.test", "domain = api.platform.test");
        emperor.waitForRunning("api");
        waitForPage("api.platform.test", "hello from api");
        assertThat(curl("api.shop.platform.test").text()).contains("hello from wide");
        JsonNode api = waitForRefusal("api", "api.shop.platform.test", "wide");
        assertThat(api.path("refusedDomains").toString()).contains("covered by *.shop.platform.test");

        // a wildcard over a name another tenant holds
        tenant("evil", "domain = *.platform.test", "domain = evil.platform.test");
        emperor.waitForRunning("evil");
        waitForPage("evil.platform.test", "hello from evil");
        assertThat(curl("other.platform.test").status()).isEqualTo("404");
        assertThat(curl("api.platform.test").text()).contains("hello from api");
        JsonNode evil = waitForRefusal("evil", "*.platform.test", "api"); // the first holder found below it
        assertThat(evil.path("refusedDomains").toString()).contains("covers");
    }

    @Test
    void domainAllowNeedsTheOperatorsApprovalForNamesOutsideIt() {
        start("domain-allow", "*.platform.test");
        tenant("inside", "domain = inside.platform.test");
        emperor.waitForRunning("inside");
        waitForPage("inside.platform.test", "hello from inside");

        // outside domain-allow: refused until the operator approves it for this tenant
        tenant("outside", "domain = outside.test");
        emperor.waitForRunning("outside");
        emperor.waitFor("outside's refusal", Duration.ofSeconds(30),
                () -> emperor.statusOf("outside").path("webProblems").toString().contains("outside domain-allow"));
        assertThat(curl("outside.test").status()).isEqualTo("404");
        assertThat(sub("domain", "approve", "outside.test", "outside").code()).isZero();
        waitForPage("outside.test", "hello from outside");
        assertThat(emperor.statusOf("outside").path("refusedDomains")).isEmpty();
        assertThat(sub("domain", "list").out()).contains("outside.test").contains("approved:");

        EmperorProcess.CliResult revoke = sub("domain", "revoke", "outside.test", "outside");
        assertThat(revoke.code()).as("revoke: %s", revoke.err()).isZero();
        emperor.waitFor("outside.test to be refused again", Duration.ofSeconds(30),
                () -> curl("outside.test").status().equals("404"));
    }
}
