package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Per-tenant traffic at the front proxy, which hosts bill from: requests and body bytes of a
 * tenant's site over HTTP/1.1 and HTTP/2 (TLS), connections and bytes of its public port,
 * counted for that tenant and not its neighbour, and carried across an emperor restart.
 */
class WebTrafficTest {
    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().webApp().build();
    private final EmperorProcess emperor = fixture.process();

    /** What curl sent and got: body bytes up and down (curl's size_upload and size_download). */
    private record Sent(String status, long up, long down) {}

    private Sent curl(String host, boolean https, String path, String... extra) {
        int port = https ? emperor.httpsPort() : emperor.httpPort();
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/curl", "-s", "-o", "/dev/null", "--max-time", "20",
                "-w", "%{http_code} %{size_upload} %{size_download}", "--resolve", host + ":" + port + ":127.0.0.1"));
        cmd.addAll(List.of(extra));
        cmd.add((https ? "https://" : "http://") + host + ":" + port + path);
        String[] out = TenantWebApp.run(cmd).trim().split(" ");
        return new Sent(out[0], Long.parseLong(out[1]), Long.parseLong(out[2]));
    }

    private JsonNode traffic(String tenant) {
        return emperor.statusOf(tenant).path("webTraffic");
    }

    @Test
    void requestsAndBytesAreCountedForTheRightTenantAndSurviveARestart() throws Exception {
        TenantWebApp.tenant(emperor, "shop", "domain = shop.test", "port = echo tcp 7000");
        TenantWebApp.tenant(emperor, "blog", "domain = blog.test");
        emperor.waitForRunning("shop");
        emperor.waitForRunning("blog");
        for (String host : List.of("shop.test", "blog.test")) {
            emperor.waitFor(host + " to answer", Duration.ofSeconds(60), () -> curl(host, false, "/").status().equals("200"));
        }
        int publicPort = emperor.statusOf("shop").path("ports").get(0).path("publicPort").asInt();
        emperor.waitFor("the echo service", Duration.ofSeconds(30), () -> {
            try {
                return "ping".equals(TenantWebApp.echo(publicPort, "ping"));
            } catch (IOException e) {
                return false;
            }
        });
        JsonNode shopBefore = traffic("shop");
        JsonNode blogBefore = traffic("blog");
        assertThat(shopBefore.path("requests").asLong()).as("the waits above were counted").isPositive();

        Path body = emperor.root().resolve("body.bin");
        Files.write(body, new byte[10_000]);
        List<Sent> sent = List.of(
                curl("shop.test", false, "/", "--data-binary", "@" + body),                 // HTTP/1.1, body up
                curl("shop.test", true, "/", "-k", "--http2", "--data-binary", "@" + body), // HTTP/2 over TLS
                curl("shop.test", true, "/big", "-k", "--http1.1"),                         // 4 MiB down over TLS
                curl("shop.test", false, "/page.html"));
        long up = 0;
        long down = 0;
        for (Sent s : sent) {
            assertThat(s.status()).isEqualTo("200");
            up += s.up();
            down += s.down();
        }
        assertThat(up).isEqualTo(20_000);
        assertThat(down).isGreaterThan(4L << 20);
        assertThat(TenantWebApp.echo(publicPort, "hello port")).isEqualTo("hello port");

        JsonNode shop = traffic("shop");
        assertThat(shop.path("requests").asLong() - shopBefore.path("requests").asLong()).isEqualTo(4);
        assertThat(shop.path("webBytesIn").asLong() - shopBefore.path("webBytesIn").asLong()).isEqualTo(up);
        assertThat(shop.path("webBytesOut").asLong() - shopBefore.path("webBytesOut").asLong()).isEqualTo(down);
        assertThat(shop.path("portConnections").asLong() - shopBefore.path("portConnections").asLong()).isEqualTo(1);
        long line = "hello port\n".length();
        emperor.waitFor("the port's close counted", Duration.ofSeconds(10),
                () -> traffic("shop").path("portBytesOut").asLong() - shopBefore.path("portBytesOut").asLong() == line);
        assertThat(traffic("shop").path("portBytesIn").asLong() - shopBefore.path("portBytesIn").asLong()).isEqualTo(line);
        assertThat(traffic("blog")).as("the neighbour's counters do not move").isEqualTo(blogBefore);
        assertThat(emperor.command("status", "shop").out())
                .contains("web:        " + shop.path("requests").asLong() + " requests, in " + shop.path("webBytesIn").asLong()
                        + " bytes, out " + shop.path("webBytesOut").asLong() + " bytes");

        JsonNode beforeRestart = traffic("shop");
        JsonNode blogBeforeRestart = traffic("blog");
        emperor.stop();
        emperor.start();
        emperor.waitForRunning("shop");
        assertThat(traffic("shop")).as("counters carry on across a restart").isEqualTo(beforeRestart);
        assertThat(traffic("blog")).isEqualTo(blogBeforeRestart);
        emperor.waitFor("shop.test to answer again", Duration.ofSeconds(60),
                () -> curl("shop.test", false, "/").status().equals("200"));
        assertThat(traffic("shop").path("requests").asLong()).isGreaterThan(beforeRestart.path("requests").asLong());
    }
}
