package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A visitor's flood of idle keep-alive connections against a real emperor with two bookworm
 * tenants (shop.test, blog.test, both with the default max-connections of 512). One client
 * address (127.0.0.1) opens 512 keep-alive connections to shop.test, makes one request on
 * each and keeps them all open; it used to take every one of shop's 512 places, and shop
 * answered 503 to everyone else. Another client address (127.0.0.2) must still get 200 from
 * both sites, and the emperor's log must say what it refused.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProxyConnectionLimitsTest {
    private static final int ATTACK_CONNECTIONS = 512;

    private EmperorProcess emperor;
    private final List<Socket> held = new ArrayList<>();

    @BeforeAll
    void startTwoSites() {
        emperor = new EmperorProcess();
        TenantWebApp.install(emperor);
        emperor.start();
        TenantWebApp.tenant(emperor, "shop", "domain = shop.test");
        TenantWebApp.tenant(emperor, "blog", "domain = blog.test");
        for (String name : List.of("shop", "blog")) {
            emperor.waitForRunning(name);
            emperor.waitFor(name + " to serve its page", Duration.ofSeconds(60),
                    () -> TenantWebApp.curl(emperor, name + ".test", false, "/").text().contains("hello from " + name));
        }
    }

    @AfterAll
    void stop() throws IOException {
        for (Socket socket : held) socket.close();
        emperor.close();
    }

    @Test
    void oneAddressHoldingASitesConnectionsIdleLeavesBothSitesToEveryoneElse() throws IOException {
        Map<String, Integer> outcomes = new TreeMap<>();
        for (int i = 0; i < ATTACK_CONNECTIONS; i++) {
            Socket socket = new Socket(InetAddress.getByName("127.0.0.1"), emperor.httpPort());
            held.add(socket);
            socket.setSoTimeout(10_000);
            outcomes.merge(statusOf(socket, "shop.test"), 1, Integer::sum);
        }
        // 64 (client-max-connections-per-site) are served; then 429 until the client has 256
        // connections open (client-max-connections), after which new ones are closed at accept.
        assertThat(outcomes).as("what the flooding address got").containsEntry("200", 64);
        assertThat(outcomes.get("429")).isPositive();

        for (String site : List.of("shop.test", "blog.test")) {
            TenantWebApp.Curl other = TenantWebApp.curl(emperor, site, false, "/", "--interface", "127.0.0.2");
            assertThat(other.status()).as("%s from 127.0.0.2 while 127.0.0.1 holds its connections: %s", site, other.text())
                    .isEqualTo("200");
        }
        emperor.waitFor("the refusals in the log", Duration.ofSeconds(15),
                () -> emperor.daemonOutput().contains("over client-max-connections-per-site"), emperor::daemonOutput);
    }

    /** Sends one keep-alive GET; the status code, or "closed" if the proxy closed the connection instead. */
    private static String statusOf(Socket socket, String host) {
        try {
            socket.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
            String status = in.readLine();
            return status == null ? "closed" : status.split(" ")[1];
        } catch (IOException e) {
            return "closed";
        }
    }
}
