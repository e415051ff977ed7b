package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.tests.TenantWebApp.Curl;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * slowhttptest's three slow-client attacks against the emperor's HTTP listener, aimed at one
 * tenant's name, while curl keeps asking that tenant and another one for a page. One emperor
 * with two bookworm tenants (shop.test, blog.test) serves all three attacks.
 *
 * <p>slowhttptest cannot be told to resolve a name to an address, so it runs in a private
 * mount namespace (unshare) whose /etc/hosts is a bind of a file mapping the tenants' names to
 * 127.0.0.1; the host's own /etc/hosts is never touched.
 *
 * <p>The emperor runs with tighter slow-client limits than the defaults, set in emperor.ini
 * so the attacks end sooner: a request head must be complete within {@value #HEADER_TIMEOUT_SECONDS} s
 * ({@code client-header-timeout}), and a request body, or a response the client is behind in
 * reading, must average {@value #MIN_RATE} B/s once {@value #RATE_GRACE_SECONDS} s have passed
 * ({@code client-min-rate}, {@code client-rate-grace}). Slow bodies and slow readers keep some
 * traffic flowing, so the idle limit never ends them; the minimum rate does. Each attack must
 * end with every connection closed by the proxy while both sites keep answering.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SlowClientsTest {
    private static final int CONNECTIONS = 300;
    private static final int HEADER_TIMEOUT_SECONDS = 8;
    private static final int MIN_RATE = 240;
    private static final int RATE_GRACE_SECONDS = 3;
    /** Longest an attack runs: a few times the limits, so one that is never cut off fails. */
    private static final int ATTACK_SECONDS = 25;
    /** "Within a few seconds": generous, because CI machines (and this one) are shared and small. */
    private static final long PAGE_LIMIT_MILLIS = 8000;

    private EmperorProcess emperor;
    private Path hosts;

    @BeforeAll
    void startTwoSites() throws IOException {
        // All 300 attack connections come from 127.0.0.1: the per-address connection limits
        // would cut most of them off at once (ProxyConnectionLimitsTest); here the slow-client
        // limits must, so the address may hold them all (shop's max-connections too: one
        // address gets at most half of a site's).
        emperor = new EmperorProcess()
                .set("client-max-connections", "1000")
                .set("client-max-connections-per-site", "1000")
                .set("client-header-timeout", HEADER_TIMEOUT_SECONDS + "s")
                .set("client-min-rate", String.valueOf(MIN_RATE))
                .set("client-rate-grace", RATE_GRACE_SECONDS + "s");
        TenantWebApp.install(emperor);
        emperor.start();
        hosts = emperor.root().resolve("hosts");
        Files.writeString(hosts, "127.0.0.1 localhost shop.test blog.test\n");
        TenantWebApp.tenant(emperor, "shop", "domain = shop.test", "max-connections = 1000");
        TenantWebApp.tenant(emperor, "blog", "domain = blog.test");
        for (String name : List.of("shop", "blog")) {
            emperor.waitForRunning(name);
            emperor.waitFor(name + " to serve its page", Duration.ofSeconds(60),
                    () -> curl(name + ".test").text().contains("hello from " + name));
        }
    }

    @AfterAll
    void stop() {
        emperor.close();
    }

    @Test
    void slowHeadersAreCutOffOnceTheHeadTimeoutPassesAndBothSitesKeepAnswering() {
        // a header line every 2 s keeps each connection busy; the proxy's head limit must end them all
        Attack attack = attack("slowloris", ATTACK_SECONDS, "-H", "-i", "2");
        assertAllCutOff(attack, HEADER_TIMEOUT_SECONDS - 2);
    }

    @Test
    void slowBodiesAreCutOffByTheMinimumRateAndBothSitesKeepAnswering() {
        // POST with Content-Length 8192, a few body bytes every 2 s (far below the minimum rate);
        // the app reads the whole body first, so only the proxy can end these
        Attack attack = attack("slowbody", ATTACK_SECONDS, "-B", "-i", "2", "-s", "8192");
        assertAllCutOff(attack, RATE_GRACE_SECONDS - 1);
    }

    @Test
    void slowReadersAreCutOffByTheMinimumRateAndBothSitesKeepAnswering() {
        // each connection asks for 4 MiB and reads 32 bytes a second through a 512-1024 byte window
        Attack attack = attack("slowread", ATTACK_SECONDS, "-X", "-k", "1", "-n", "1", "-z", "32", "-w", "512", "-y", "1024");
        // The proxy resets these connections, but slowhttptest only notices once it has read
        // what its receive buffer already holds (a minute at 32 B/s): count on the proxy's side.
        assertThat(attack.proxySideOpen()).as("connections open at the proxy, every 2 s")
                .anyMatch(open -> open >= CONNECTIONS / 2);
        assertThat(attack.proxySideOpen().getLast()).as("connections open at the proxy at the end: %s",
                attack.proxySideOpen()).isLessThanOrEqualTo(5);
        assertThat(attack.alwaysAvailable()).as("slowhttptest's probe: " + attack.csv()).isTrue();
    }

    /** The proxy accepted the attack's connections, then closed every one of them (none earlier than {@code notBefore} s). */
    private static void assertAllCutOff(Attack attack, int notBefore) {
        assertThat(attack.exitStatus()).as(attack.output()).contains("No open connections left");
        assertThat(attack.lastSecond()).as("seconds the attack lasted").isBetween(notBefore, ATTACK_SECONDS - 3);
        assertThat(attack.finalRow().closed()).as(attack.csv()).isGreaterThanOrEqualTo(CONNECTIONS / 2);
        assertThat(attack.peakConnected()).as("connections the proxy accepted first").isGreaterThanOrEqualTo(CONNECTIONS / 2);
        assertThat(attack.alwaysAvailable()).as("slowhttptest's probe: " + attack.csv()).isTrue();
    }

    /** One row of slowhttptest's CSV: Seconds,Closed,Pending,Connected,Service Available (0 = down). */
    private record Row(int second, int closed, int pending, int connected, int available) {}

    private record Attack(String output, String csv, List<Row> rows, List<Integer> proxySideOpen) {
        String exitStatus() {
            int at = output.indexOf("Exit status:");
            return at < 0 ? "(none)" : output.substring(at).split("\n", 2)[0];
        }

        int lastSecond() {
            return finalRow().second();
        }

        Row finalRow() {
            return rows.getLast();
        }

        int peakConnected() {
            return rows.stream().mapToInt(Row::connected).max().orElse(0);
        }

        boolean alwaysAvailable() {
            return rows.stream().allMatch(r -> r.available() > 0);
        }
    }

    /**
     * Runs slowhttptest against shop.test for at most {@code seconds} with {@link #CONNECTIONS}
     * connections, and meanwhile asks shop.test and blog.test for their page every 2 s: each
     * must answer 200 within {@link #PAGE_LIMIT_MILLIS}.
     */
    private Attack attack(String label, int seconds, String... mode) {
        Path prefix = emperor.root().resolve(label);
        String target = "http://shop.test:" + emperor.httpPort() + (List.of(mode).contains("-X") ? "/big" : "/");
        List<String> slowhttptest = new ArrayList<>(List.of("slowhttptest"));
        slowhttptest.addAll(List.of(mode));
        slowhttptest.addAll(List.of("-c", String.valueOf(CONNECTIONS), "-r", "150", "-l", String.valueOf(seconds),
                "-p", "5", "-g", "-o", prefix.toString(), "-u", target));
        Path output = emperor.root().resolve(label + ".out");
        Process process;
        try {
            List<String> cmd = new ArrayList<>(List.of("unshare", "--mount", "--propagation", "private", "sh", "-c",
                    "mount --bind \"$0\" /etc/hosts && exec \"$@\"", hosts.toString()));
            cmd.addAll(slowhttptest);
            process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            EmperorProcess.sleep(Duration.ofSeconds(3)); // the connections are open by now
            List<String> answers = new ArrayList<>();
            List<String> failures = new ArrayList<>();
            List<Integer> proxySideOpen = new ArrayList<>();
            while (process.isAlive()) {
                proxySideOpen.add(establishedOnHttpPort());
                for (String name : List.of("shop", "blog")) {
                    long start = System.nanoTime();
                    Curl page = curl(name + ".test");
                    long millis = (System.nanoTime() - start) / 1_000_000;
                    String answer = name + " " + (page.status().isEmpty() ? "no answer" : page.status()) + " in " + millis + " ms";
                    answers.add(answer);
                    if (!page.status().equals("200") || millis >= PAGE_LIMIT_MILLIS) {
                        failures.add(answer + " (the app itself, directly on its socket: " + direct(name) + ")");
                    }
                }
                EmperorProcess.sleep(Duration.ofSeconds(2));
            }
            System.out.println("--- pages during the " + label + " attack: " + answers);
            assertThat(failures).as("pages that did not come in time during the %s attack, of %s", label, answers)
                    .isEmpty();
            assertThat(answers).as("pages asked for during the attack").hasSizeGreaterThanOrEqualTo(4);
            if (!process.waitFor(seconds + 30, TimeUnit.SECONDS)) throw new AssertionError("slowhttptest did not end");
            String text = Files.readString(output).replaceAll("\u001b\\[[0-9;]*m", "");
            String csv = Files.readString(Path.of(prefix + ".csv"));
            List<Row> rows = new ArrayList<>();
            for (String line : csv.strip().split("\n")) {
                if (line.startsWith("Seconds")) continue;
                String[] f = line.split(",");
                rows.add(new Row(Integer.parseInt(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2]),
                        Integer.parseInt(f[3]), Integer.parseInt(f[4])));
            }
            assertThat(rows).as(text).isNotEmpty();
            System.out.println("--- slowhttptest " + label + ":\n" + text + "\n" + csv);
            return new Attack(text, csv, rows, proxySideOpen);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
        }
    }

    /** TCP connections established to the proxy's HTTP port, counted at the proxy's end. */
    private int establishedOnHttpPort() {
        String out = TenantWebApp.run(List.of("ss", "-Htn", "state", "established",
                "( sport = :" + emperor.httpPort() + " )"));
        return (int) out.lines().filter(line -> !line.isBlank()).count();
    }

    /** How the tenant's app answers on its own unix socket, bypassing the proxy (for failure reports). */
    private String direct(String tenant) {
        long start = System.nanoTime();
        String out = TenantWebApp.run(List.of("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                "--unix-socket", emperor.runDirOf(tenant).resolve("app.sock").toString(), "http://" + tenant + ".test/"));
        return out + " in " + (System.nanoTime() - start) / 1_000_000 + " ms";
    }

    private Curl curl(String host) {
        return TenantWebApp.curl(emperor, host, false, "/", "--max-time", "10");
    }
}
