package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * `emperor cert issue` and renewal against a real ACME CA: Debian's pebble, whose DNS
 * (pebble-challtestsrv) answers 127.0.0.1 for every name, so its HTTP-01 validation really
 * fetches the answers from the emperor's own HTTP listener. HTTPS for the tenant's domain is
 * then checked with curl trusting only pebble's root (from its management API) and with
 * openssl s_client for the certificate's serial.
 */
class AcmeIssueTest {
    private EmperorProcess emperor;
    private Path pki;
    private final List<Process> pebbleProcesses = new ArrayList<>();
    private int pebbleManagement;

    @BeforeEach
    void setUp() throws Exception {
        emperor = new EmperorProcess();
        pki = Files.createDirectories(emperor.root().resolve("pki"));
        startPebble(emperor.httpPort());
    }

    /** The acme-* keys for this pebble, as emperor.ini lines. */
    private List<String> acmeKeys() {
        return List.of("acme-directory = https://localhost:" + pebblePort + "/dir",
                "acme-email = ops@platform.test",
                "acme-ca-trust = " + pki.resolve("ca.pem"),
                // longer than pebble's certificates live (5 years): every renewal check renews
                "acme-renew-days = 3650");
    }

    private void startWithAcme() {
        for (String line : acmeKeys()) {
            String[] kv = line.split(" = ", 2);
            emperor.set(kv[0], kv[1]);
        }
        emperor.start();
    }

    @AfterEach
    void tearDown() {
        try {
            System.out.println("--- pebble:\n" + Files.readString(pki.resolve("pebble.log")));
        } catch (IOException e) {
            System.out.println("(no pebble log)");
        }
        emperor.close();
        for (Process p : pebbleProcesses) { // by their own pids only
            p.destroy();
            try {
                if (!p.waitFor(5, TimeUnit.SECONDS)) p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private int pebblePort;

    /** pebble with a TLS certificate of a test CA made here, and its DNS answering 127.0.0.1. */
    private void startPebble(int httpPort) throws Exception {
        check(run("cd " + pki + " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256"
                + " -nodes -keyout ca.key -out ca.pem -days 30 -subj '/CN=Pebble Test TLS CA'"
                + " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>&1"
                + " && printf 'subjectAltName=DNS:localhost\\nextendedKeyUsage=serverAuth\\n' > tls.ext"
                + " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.csr"
                + " -subj '/CN=localhost' 2>&1 && openssl x509 -req -in tls.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
                + " -days 10 -extfile tls.ext -out tls.crt 2>&1 && echo DONE"));
        pebblePort = EmperorProcess.freePort();
        pebbleManagement = EmperorProcess.freePort();
        int dnsPort = EmperorProcess.freePort();
        int dnsManagement = EmperorProcess.freePort();
        Files.writeString(pki.resolve("pebble.json"), """
                {"pebble": {
                  "listenAddress": "127.0.0.1:%d",
                  "managementListenAddress": "127.0.0.1:%d",
                  "certificate": "%s",
                  "privateKey": "%s",
                  "httpPort": %d,
                  "tlsPort": %d,
                  "ocspResponderURL": "",
                  "externalAccountBindingRequired": false,
                  "domainBlocklist": ["blocked.acme.test"]
                }}
                """.formatted(pebblePort, pebbleManagement, pki.resolve("tls.crt"), pki.resolve("tls.key"), httpPort,
                EmperorProcess.freePort()));
        pebbleProcesses.add(new ProcessBuilder("pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
                "-dns01", "127.0.0.1:" + dnsPort, "-http01", "", "-https01", "", "-tlsalpn01", "",
                "-management", "127.0.0.1:" + dnsManagement)
                .redirectErrorStream(true).redirectOutput(pki.resolve("challtestsrv.log").toFile()).start());
        var pebble = new ProcessBuilder("pebble", "-config", pki.resolve("pebble.json").toString(),
                "-dnsserver", "127.0.0.1:" + dnsPort).redirectErrorStream(true).redirectOutput(pki.resolve("pebble.log").toFile());
        pebble.environment().remove("PEBBLE_VA_ALWAYS_VALID"); // validation must be real
        pebble.environment().put("PEBBLE_VA_NOSLEEP", "1");
        pebble.environment().put("PEBBLE_WFE_NONCEREJECT", "0");
        pebble.environment().put("PEBBLE_AUTHZREUSE", "0");
        pebbleProcesses.add(pebble.start());
        awaitListening(dnsManagement);
        awaitListening(pebblePort);
        awaitListening(pebbleManagement);
    }

    private static void awaitListening(int port) throws InterruptedException {
        for (int attempt = 0; attempt < 200; attempt++) {
            try (var socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        throw new AssertionError("nothing listens on 127.0.0.1:" + port);
    }

    /** pebble's issuing root, which changes with every pebble start. */
    private Path pebbleRoot() {
        Path root = pki.resolve("pebble-root.pem");
        check(run("curl -s --fail --cacert " + pki.resolve("ca.pem") + " https://localhost:" + pebbleManagement
                + "/roots/0 -o " + root + " && echo DONE"));
        return root;
    }

    /** Serial and issuer of the certificate the emperor presents for {@code name}. */
    private String presented(String name) {
        return run("openssl s_client -connect 127.0.0.1:" + emperor.httpsPort() + " -servername " + name
                + " </dev/null 2>/dev/null | openssl x509 -noout -serial -issuer");
    }

    private static String serial(String presented) {
        return presented.lines().filter(l -> l.startsWith("serial=")).findFirst().orElse("(none) " + presented);
    }

    /** curl over HTTPS trusting only {@code ca}: "OK" when the chain verifies for the name. */
    private String verifiedWith(Path ca, String name) {
        int port = emperor.httpsPort();
        return run("curl -s -o /dev/null --max-time 10 --cacert " + ca + " --resolve " + name + ":" + port + ":127.0.0.1"
                + " https://" + name + ":" + port + "/ && echo OK || echo \"curl failed $?\"").strip();
    }

    @Test
    void certIssueGetsAVerifiedCertificateFromTheCaAndRenewalReplacesOnlyAcmeOnes() throws Exception {
        startWithAcme();
        emperor.vassal("shop", EmperorProcess.SLEEPER, "domain = shop.acme.test", "domain = www.shop.acme.test",
                "domain = *.shop.acme.test");
        emperor.vassal("own", EmperorProcess.SLEEPER, "domain = own.acme.test");
        emperor.vassal("wild", EmperorProcess.SLEEPER, "domain = *.wild.acme.test");
        for (String name : List.of("shop", "own", "wild")) emperor.waitForRunning(name);

        // the clear refusals first
        EmperorProcess.CliResult unknown = cert("issue", "nobody");
        assertThat(unknown.code()).isEqualTo(1);
        assertThat(unknown.err()).contains("no vassal named 'nobody'");
        EmperorProcess.CliResult wildcardOnly = cert("issue", "wild");
        assertThat(wildcardOnly.code()).isEqualTo(1);
        assertThat(wildcardOnly.err()).contains("no domain ACME can issue for").contains("*.wild.acme.test");

        // an uploaded certificate, which renewal must never touch
        makeTestCa();
        EmperorProcess.CliResult put = cert("put", "own", leaf("own.acme.test").toString());
        assertThat(put.code()).as("cert put: %s", put.err()).isZero();

        EmperorProcess.CliResult issued = cert("issue", "shop");
        assertThat(issued.code()).as("cert issue: %s\n%s", issued.err(), emperor.daemonOutput()).isZero();
        assertThat(issued.out()).contains("shop: certificate issued");

        Path root = pebbleRoot();
        assertThat(verifiedWith(root, "shop.acme.test")).isEqualTo("OK");
        assertThat(verifiedWith(root, "www.shop.acme.test")).isEqualTo("OK");
        String first = presented("shop.acme.test");
        assertThat(first).contains("Pebble Intermediate CA");
        JsonNode certificate = emperor.statusOf("shop").path("certificate");
        assertThat(certificate.path("origin").asText()).isEqualTo("acme");
        assertThat(certificate.path("names").toString()).contains("shop.acme.test").doesNotContain("*.");
        assertThat(emperor.statusOf("own").path("certificate").path("origin").asText()).isEqualTo("upload");

        // the renewal check now: the ACME certificate expires "within 3650 days", the upload is left alone
        EmperorProcess.CliResult renewed = cert("renew");
        assertThat(renewed.code()).as("cert renew: %s", renewed.err()).isZero();
        assertThat(renewed.out()).contains("shop: renewal").doesNotContain("own:");
        String second = presented("shop.acme.test");
        assertThat(serial(second)).isNotEqualTo(serial(first));
        assertThat(verifiedWith(root, "shop.acme.test")).isEqualTo("OK");
        assertThat(presented("own.acme.test")).contains("Emperor Test CA");
        assertThat(emperor.command("events", "shop").out()).contains("renewal").contains("by ACME");

        // a restarted emperor serves what it stored, and its own check at start renews again
        emperor.stop();
        emperor.start();
        emperor.waitForRunning("shop");
        emperor.waitFor("the check at start to renew shop's certificate", Duration.ofSeconds(60), () -> {
            String now = serial(presented("shop.acme.test"));
            return !now.equals(serial(first)) && !now.equals(serial(second)) && now.startsWith("serial=");
        }, () -> presented("shop.acme.test") + "\n" + emperor.daemonOutput());
        assertThat(verifiedWith(root, "shop.acme.test")).isEqualTo("OK");
        assertThat(presented("own.acme.test")).contains("Emperor Test CA");
    }

    /**
     * The attack of issue 14: a tenant names another tenant's live domain, the emperor restarts
     * while the owner's file is broken (so only the attacker's file names it), and the attacker
     * asks for a certificate. The CA is never asked for the other tenant's name.
     */
    @Test
    void aTenantNamingAnotherTenantsDomainNeverGetsACertificateForIt() throws Exception {
        startWithAcme();
        emperor.vassal("shop", EmperorProcess.SLEEPER, "domain = shop.acme.test");
        emperor.waitForRunning("shop");
        emperor.vassal("evil", EmperorProcess.SLEEPER, "domain = shop.acme.test", "domain = evil.acme.test");
        emperor.waitForRunning("evil");
        // the restart happens while shop's file is broken: only evil's file asks for the name then
        emperor.vassal("shop", EmperorProcess.SLEEPER, "domain = shop.acme.test", "memroy = 1");
        emperor.waitFor("shop's file to be seen invalid", Duration.ofSeconds(30),
                () -> emperor.statusOf("shop").path("lastError").asText().contains("memroy"));
        emperor.stop();
        emperor.start();
        emperor.waitForRunning("evil");

        EmperorProcess.CliResult issued = cert("issue", "evil");
        assertThat(issued.code()).as("cert issue: %s\n%s", issued.err(), emperor.daemonOutput()).isZero();
        assertThat(emperor.statusOf("evil").path("certificate").path("names").toString())
                .contains("evil.acme.test").doesNotContain("shop.acme.test");
        assertThat(presented("shop.acme.test")).doesNotContain("Pebble");
        assertThat(presented("evil.acme.test")).contains("Pebble Intermediate CA");
        assertThat(emperor.statusOf("evil").path("webProblems").toString()).contains("already served by tenant shop");
    }

    @Test
    void acmeKeysArriveWithSighupAndARefusingCaIsReportedWithItsReasonChangingNothing() throws Exception {
        emperor.start();
        emperor.vassal("shop", EmperorProcess.SLEEPER, "domain = shop.acme.test", "domain = blocked.acme.test");
        emperor.waitForRunning("shop");
        String before = presented("shop.acme.test");
        EmperorProcess.CliResult off = cert("issue", "shop");
        assertThat(off.code()).isEqualTo(1);
        assertThat(off.err()).contains("ACME is not configured");

        // ACME on by SIGHUP; a port-range change needs a restart and the log says so, naming the key
        List<String> ini = new ArrayList<>(Files.readAllLines(emperor.configFile()));
        ini.removeIf(line -> line.startsWith("port-range"));
        ini.add("port-range = 40000-40009");
        ini.addAll(acmeKeys());
        ini.add("acme-auto = true"); // the renewal check then owes shop a certificate it cannot get
        Files.write(emperor.configFile(), ini);
        new ProcessBuilder("kill", "-HUP", Long.toString(emperor.daemonPid())).start().waitFor();
        emperor.waitFor("the emperor to re-read emperor.ini", Duration.ofSeconds(30),
                () -> emperor.daemonOutput().contains("re-read"), emperor::daemonOutput);
        assertThat(emperor.daemonOutput()).contains("port-range changed: it takes effect when the emperor is restarted");

        EmperorProcess.CliResult refused = cert("issue", "shop");
        assertThat(refused.code()).isEqualTo(1);
        // pebble's own words: its policy forbids the name
        System.out.println("refusal: " + refused.err());
        assertThat(refused.err()).contains("blocked.acme.test").containsIgnoringCase("policy");
        assertThat(serial(presented("shop.acme.test"))).isEqualTo(serial(before));
        assertThat(emperor.statusOf("shop").path("certificate").isNull()).isTrue();
        assertThat(emperor.command("events", "shop").out()).contains("ACME issuance failed").contains("blocked.acme.test");

        // the renewal check owes shop a certificate it cannot have: a script running it must see that
        EmperorProcess.CliResult renewal = cert("renew");
        assertThat(renewal.code()).as("cert renew: %s / %s", renewal.out(), renewal.err()).isEqualTo(1);
        assertThat(renewal.out()).contains("shop:");
        assertThat(renewal.err()).contains("could not be had");
        assertThat(emperor.daemonAlive()).isTrue();
    }

    @Test
    void aPlatformCertificateGivenBySighupIsServedAndItsNamesAreLeftToIt() throws Exception {
        startWithAcme();
        emperor.vassal("shop", EmperorProcess.SLEEPER, "domain = shop.platform.test", "domain = shop.acme.test");
        emperor.waitForRunning("shop");
        assertThat(presented("shop.platform.test")).doesNotContain("Emperor Test CA");

        makeTestCa();
        Path platform = leaf("*.platform.test");
        List<String> ini = new ArrayList<>(Files.readAllLines(emperor.configFile()));
        ini.add("tls-cert = " + platform);
        ini.add("tls-key = " + platform);
        Files.write(emperor.configFile(), ini);
        new ProcessBuilder("kill", "-HUP", Long.toString(emperor.daemonPid())).start().waitFor();
        emperor.waitFor("the platform certificate to be served", Duration.ofSeconds(30),
                () -> presented("shop.platform.test").contains("Emperor Test CA"), emperor::daemonOutput);

        EmperorProcess.CliResult issued = cert("issue", "shop");
        assertThat(issued.code()).as("cert issue: %s", issued.err()).isZero();
        assertThat(emperor.statusOf("shop").path("certificate").path("names").toString())
                .contains("shop.acme.test").doesNotContain("platform.test");
        assertThat(presented("shop.acme.test")).contains("Pebble Intermediate CA");
        assertThat(presented("shop.platform.test")).contains("Emperor Test CA");
    }

    // ---- a test CA for the uploaded certificate --------------------------------------------

    private void makeTestCa() {
        check(run("cd " + pki + " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256"
                + " -nodes -keyout up-ca.key -out up-ca.pem -days 30 -subj '/CN=Emperor Test CA'"
                + " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>&1 && echo DONE"));
    }

    private Path leaf(String dnsName) {
        String name = dnsName.replace("*", "star");
        check(run("cd " + pki + " && printf 'subjectAltName=DNS:" + dnsName
                + "\\nextendedKeyUsage=serverAuth\\nkeyUsage=critical,digitalSignature\\nbasicConstraints=CA:FALSE\\n' > "
                + name + ".ext && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + name
                + ".key -out " + name + ".csr -subj '/CN=" + name + "' 2>&1 && openssl x509 -req -in " + name
                + ".csr -CA up-ca.pem -CAkey up-ca.key -CAcreateserial -days 10 -extfile " + name + ".ext -out " + name
                + ".crt 2>&1 && cat " + name + ".key " + name + ".crt up-ca.pem > " + name + ".bundle.pem && echo DONE"));
        return pki.resolve(name + ".bundle.pem");
    }

    /** `emperor cert SUB -c emperor.ini ARGS...` (the config option belongs to the subcommand). */
    private EmperorProcess.CliResult cert(String sub, String... args) {
        List<String> all = new ArrayList<>(List.of("cert", sub, "-c", emperor.configFile().toString()));
        all.addAll(List.of(args));
        return EmperorProcess.cli(all.toArray(String[]::new));
    }

    private static void check(String output) {
        assertThat(output).as("command output").contains("DONE");
    }

    private static String run(String script) {
        try {
            Process p = new ProcessBuilder("bash", "-c", script).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(30, TimeUnit.SECONDS);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
