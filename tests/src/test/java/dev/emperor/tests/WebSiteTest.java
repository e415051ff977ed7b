package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.emperor.tests.TenantWebApp.Curl;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Tenants' web sites and public ports through the emperor's front proxy, end to end: a
 * bookworm tenant's python app on a unix socket in its /run, reached with curl and openssl
 * by name over HTTP, HTTPS and HTTP/2; maintenance; certificate upload; a public TCP port
 * that survives a kill -9 of the emperor; and what a hostile second tenant cannot do.
 */
class WebSiteTest {
    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().webApp().logsOnFailure("shop", "evil").build();
    private final EmperorProcess emperor = fixture.process();

    private void tenant(String name, String... extra) {
        TenantWebApp.tenant(emperor, name, extra);
    }

    private Curl curl(String host, boolean https, String... extra) {
        return TenantWebApp.curl(emperor, host, https, "/", extra);
    }

    private static String run(List<String> cmd) {
        return TenantWebApp.run(cmd);
    }

    private void waitForPage(String host, String expected) {
        emperor.waitFor(host + " to serve " + expected, Duration.ofSeconds(60),
                () -> curl(host, false).text().contains(expected), () -> curl(host, false).text());
    }

    @Test
    void aTenantsSiteIsServedByNameOverHttpHttpsAndHttp2WithMaintenanceAndItsOwnCertificate() throws Exception {
        tenant("shop", "domain = shop.test");
        emperor.waitForRunning("shop");
        waitForPage("shop.test", "hello from shop");
        assertThat(curl("shop.test", false).text()).contains("xff=127.0.0.1");

        Curl unknown = curl("nobody.test", false);
        assertThat(unknown.status()).isEqualTo("404");

        Curl h2 = curl("shop.test", true, "-k", "--http2");
        assertThat(h2.protocol()).isEqualTo("HTTP/2");
        assertThat(h2.status()).isEqualTo("200");
        assertThat(h2.text()).contains("hello from shop");
        Path accessLog = emperor.root().resolve("log/access/shop.access.log");
        emperor.waitFor("the HTTP/2 request in the access log as HTTP/2.0", Duration.ofSeconds(10),
                () -> Files.exists(accessLog) && Files.readString(accessLog).contains("\"GET / HTTP/2.0\" 200"));

        assertThat(emperor.command("maintenance", "shop", "on").code()).isZero();
        Curl down = curl("shop.test", false);
        assertThat(down.status()).isEqualTo("503");
        assertThat(down.text().toLowerCase()).contains("retry-after:");
        assertThat(emperor.statusOf("shop").path("maintenance").asBoolean()).isTrue();
        assertThat(emperor.command("maintenance", "shop", "off").code()).isZero();
        assertThat(curl("shop.test", false).text()).contains("hello from shop");

        // a certificate for a name that is not the tenant's is refused with the reason
        Path pki = Files.createDirectories(emperor.root().resolve("pki"));
        TestCa ca = TestCa.create(pki);
        Path wrong = ca.bundleFor("other.test");
        EmperorProcess.CliResult refused = certPut(wrong);
        assertThat(refused.code()).isEqualTo(1);
        assertThat(refused.err()).contains("other.test");
        Path right = ca.bundleFor("shop.test");
        EmperorProcess.CliResult stored = certPut(right);
        assertThat(stored.code()).as("cert put: %s", stored.err()).isZero();
        String served = run(List.of("bash", "-c", "openssl s_client -connect 127.0.0.1:" + emperor.httpsPort()
                + " -servername shop.test </dev/null 2>/dev/null | openssl x509 -noout -issuer -subject"));
        assertThat(served).contains("Emperor Test CA").contains("shop.test");
        JsonNode status = emperor.statusOf("shop");
        assertThat(status.path("certificate").path("names").toString()).contains("shop.test");
        assertThat(emperor.command("status", "shop").out()).contains("shop.test").contains("expires");
    }

    private static String readOrEmpty(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.ISO_8859_1) : "";
        } catch (IOException e) {
            return "";
        }
    }

    @Test
    void accessLogsMoveToANewDirectoryOnSighupAndAreRotatedAtLogMaxSize() throws Exception {
        tenant("shop", "domain = shop.test");
        emperor.waitForRunning("shop");
        waitForPage("shop.test", "hello from shop");
        Path first = emperor.root().resolve("log/access/shop.access.log");
        emperor.waitFor("the request in the access log", Duration.ofSeconds(10),
                () -> readOrEmpty(first).contains("\"GET / HTTP/1.1\" 200"));

        emperor.set("access-log-dir", "access-moved").set("log-max-size", "4K").set("log-keep", "1");
        emperor.reload(); // no restart: the next lines go to the new directory, rotated at 4 KiB
        assertThat(emperor.daemonOutput()).doesNotContain("access-log-dir changed");
        Path moved = emperor.root().resolve("access-moved");
        String path = "/" + "p".repeat(100) + "-";
        int requests = 30; // lines of about 200 bytes: one rotation, not two
        for (int i = 0; i < requests; i++) {
            assertThat(TenantWebApp.curl(emperor, "shop.test", false, path + i).status()).isEqualTo("200");
        }
        Path current = moved.resolve("shop.access.log");
        Path part = moved.resolve("shop.access.log.1");
        emperor.waitFor("a line for every request", Duration.ofSeconds(10),
                () -> (readOrEmpty(part) + readOrEmpty(current)).split("\n").length >= requests);

        String rotated = readOrEmpty(part);
        String now = readOrEmpty(current);
        assertThat(rotated.length()).as("rotated once it reached log-max-size").isGreaterThanOrEqualTo(4096);
        assertThat(now.length()).isPositive().isLessThan(4096);
        assertThat(moved.resolve("shop.access.log.2")).as("log-keep = 1").doesNotExist();
        // Each event loop gathers its own lines: across loops (connections) they may swap places.
        List<String> logged = new java.util.ArrayList<>();
        for (String line : (rotated + now).split("\n")) {
            logged.add(line.replaceAll(".*\"GET " + path + "(\\d+) HTTP/1.1\" 200 .*", "$1"));
        }
        assertThat(logged).as("each request once, none lost in the rotation:\n%s\n---\n%s", rotated, now)
                .containsExactlyInAnyOrderElementsOf(java.util.stream.IntStream.range(0, requests).mapToObj(Integer::toString).toList());
        assertThat(readOrEmpty(first)).doesNotContain(path);
    }

    @Test
    void aPublicPortIsForwardedAndKeptAcrossAKilledEmperor() throws Exception {
        tenant("shop", "domain = shop.test", "port = echo tcp 7000");
        emperor.waitForRunning("shop");
        waitForPage("shop.test", "hello from shop");
        JsonNode port = emperor.statusOf("shop").path("ports").get(0);
        assertThat(port.path("service").asText()).isEqualTo("echo");
        assertThat(port.path("internalPort").asInt()).isEqualTo(7000);
        int publicPort = port.path("publicPort").asInt();
        emperor.waitFor("the echo service", Duration.ofSeconds(30), () -> {
            try {
                return "ping".equals(TenantWebApp.echo(publicPort, "ping"));
            } catch (IOException e) {
                return false;
            }
        });
        assertThat(emperor.command("status", "shop").out()).contains("echo tcp 7000 -> public " + publicPort);

        emperor.kill9();
        emperor.start();
        emperor.waitForRunning("shop");
        emperor.waitFor("the ports in status again", Duration.ofSeconds(30),
                () -> emperor.statusOf("shop").path("ports").size() == 1);
        assertThat(emperor.statusOf("shop").path("ports").get(0).path("publicPort").asInt()).isEqualTo(publicPort);
        assertThat(TenantWebApp.echo(publicPort, "again")).isEqualTo("again");
        waitForPage("shop.test", "hello from shop");
    }

    @Test
    void anotherTenantNeverAnswersForTheFirstsNameNorThroughALinkInItsRun() throws Exception {
        tenant("shop", "domain = shop.test");
        emperor.waitForRunning("shop");
        waitForPage("shop.test", "hello from shop");
        // no app of its own: its /run/app.sock is only ever what it links there
        emperor.vassal("evil", EmperorProcess.SLEEPER, "distro = busybox", "domain = shop.test", "domain = evil.test");
        emperor.waitForRunning("evil");
        emperor.waitFor("evil's status to show the conflict", Duration.ofSeconds(10),
                () -> emperor.statusOf("evil").path("webProblems").toString().contains("already served by tenant shop"));
        assertThat(curl("shop.test", false).text()).contains("hello from shop");
        assertThat(curl("evil.test", false).status()).isEqualTo("502"); // its own name is routed to it

        // what the tenant can do in its own /run: app.sock becomes a link to shop's socket
        Path evilSocket = emperor.runDirOf("evil").resolve("app.sock");
        Files.createSymbolicLink(evilSocket, emperor.runDirOf("shop").resolve("app.sock"));
        Curl linked = curl("evil.test", false);
        assertThat(linked.status()).isEqualTo("502");
        assertThat(linked.text()).doesNotContain("hello from shop");
        // or to the root-only control socket
        Files.delete(evilSocket);
        Files.createSymbolicLink(evilSocket, emperor.root().resolve("run/control.sock"));
        assertThat(curl("evil.test", false).status()).isEqualTo("502");
        assertThat(curl("shop.test", false).text()).contains("hello from shop");
    }

    private EmperorProcess.CliResult certPut(Path bundle) {
        return EmperorProcess.cli("cert", "put", "-c", emperor.configFile().toString(), "shop", bundle.toString());
    }
    /**
     * A stopped tenant's TCP upstream answers nothing (its address has no tun attached), so each
     * client waited the proxy's whole connect timeout for a 502. Now the proxy knows the
     * tenant's state: 503 at once, with Retry-After while it starts or backs off.
     */
    @Test
    void aSiteWhoseTenantIsStoppedOrBackingOffAnswers503AtOnce() {
        emperor.vassal("down", "exec = sleep 100000", "distro = busybox", "domain = down.test", "upstream = :8000");
        emperor.waitForRunning("down");
        assertThat(emperor.command("stop", "down", "--wait", "30").code()).isZero();
        Curl stopped = curl("down.test", false, "--max-time", "3");
        assertThat(stopped.status()).isEqualTo("503");
        assertThat(stopped.text().toLowerCase()).doesNotContain("retry-after:");

        emperor.vassal("broken", "exec = /no/such/program", "distro = busybox", "domain = broken.test");
        emperor.waitForState("broken", "backing-off", Duration.ofSeconds(30));
        Curl backingOff = curl("broken.test", false, "--max-time", "3");
        assertThat(backingOff.status()).isEqualTo("503");
        assertThat(backingOff.text().toLowerCase()).contains("retry-after:");

        assertThat(emperor.command("start", "down", "--wait", "30").code()).isZero();
        assertThat(curl("down.test", false, "--max-time", "3").status()).as("running, nothing on :8000").isEqualTo("502");
    }
}
