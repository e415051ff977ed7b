package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** SIGHUP re-reads emperor.ini; an invalid one is refused and the running configuration kept. */
class ConfigReloadTest {
    /** Ignores SIGTERM, so how long a stop takes is the configured stop-grace. */
    private static final String STUBBORN =
            "exec = sh -c \"trap '' TERM; echo $$ >> /run/spawns; while :; do sleep 1; done\"";

    private EmperorProcess emperor;

    @BeforeEach
    void startEmperor() {
        emperor = new EmperorProcess().set("stop-grace", "60s").start();
    }

    @AfterEach
    void cleanUp() {
        emperor.close();
    }

    /** Rewrites emperor.ini, signals the daemon, and returns the file's previous content. */
    private String rewriteConfigAndHup(String stopGrace, String extraLine) throws Exception {
        String before = java.nio.file.Files.readString(emperor.configFile());
        EmperorProcess.write(emperor.configFile(), before.replace("stop-grace = 60s", "stop-grace = " + stopGrace) + extraLine);
        new ProcessBuilder("kill", "-HUP", Long.toString(emperor.daemonPid())).start().waitFor();
        return before;
    }

    @Test
    void sighupAppliesTheNewStopGrace() throws Exception {
        emperor.vassal("stubborn", STUBBORN, "distro = busybox");
        emperor.waitForRunning("stubborn");
        rewriteConfigAndHup("1s", "");
        emperor.waitFor("the daemon to log the re-read", Duration.ofSeconds(10),
                () -> emperor.daemonOutput().contains("re-read " + emperor.configFile()));

        assertThat(emperor.command("stop", "stubborn").code()).isZero();
        // with the old 60 s grace this would take a minute
        emperor.waitForState("stubborn", "stopped", Duration.ofSeconds(15));
        assertThat(emperor.processesOf("stubborn")).isEmpty();
    }

    /** The HTTP status curl gets from 127.0.0.1:port, or "000" when nothing listens there. */
    private static String statusOn(int port) {
        return TenantWebApp.run(java.util.List.of("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                "-H", "Host: nobody.test", "http://127.0.0.1:" + port + "/")).trim();
    }

    @Test
    void sighupMovesTheProxyListenersWithoutARestart() throws Exception {
        int before = emperor.httpPort();
        assertThat(statusOn(before)).isEqualTo("404"); // the proxy, no tenant of that name
        int after = EmperorProcess.freePort();
        emperor.set("http-listen", "127.0.0.1:" + after);
        emperor.reload();
        assertThat(statusOn(after)).isEqualTo("404");
        assertThat(statusOn(before)).isEqualTo("000");
        assertThat(emperor.daemonOutput()).contains("now listening on http [/127.0.0.1:" + after + "]")
                .doesNotContain("http-listen changed");

        // an address already taken: refused with its name, the proxy stays where it is
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            emperor.set("http-listen", "127.0.0.1:" + taken.getLocalPort());
            emperor.reload();
            assertThat(emperor.daemonOutput()).contains("cannot listen on 127.0.0.1:" + taken.getLocalPort());
        }
        assertThat(statusOn(after)).isEqualTo("404");
        assertThat(emperor.daemonAlive()).isTrue();
    }

    @Test
    void sighupAppliesNewClientLimitsToNewConnections() throws Exception {
        emperor.set("client-idle-timeout", "1s");
        emperor.reload();
        assertThat(emperor.daemonOutput()).doesNotContain("changed: it takes effect when the emperor is restarted");
        try (java.net.Socket idle = new java.net.Socket("127.0.0.1", emperor.httpPort())) {
            idle.setSoTimeout(10_000); // the old limit is 75 s
            long start = System.nanoTime();
            assertThat(idle.getInputStream().read()).as("closed by the proxy").isEqualTo(-1);
            assertThat(java.time.Duration.ofNanos(System.nanoTime() - start)).isLessThan(java.time.Duration.ofSeconds(5));
        }
    }

    @Test
    void anInvalidConfigOnSighupIsRefusedAndTheOldOneKept() throws Exception {
        emperor.vassal("stubborn", STUBBORN, "distro = busybox");
        emperor.waitForRunning("stubborn");
        String valid = rewriteConfigAndHup("1s", "stop-grace-typo = 3s\n");
        emperor.waitFor("the daemon to refuse the file", Duration.ofSeconds(10),
                () -> emperor.daemonOutput().contains("keeping the previous configuration"));
        assertThat(emperor.daemonOutput()).contains("stop-grace-typo: unknown key");
        assertThat(emperor.daemonAlive()).isTrue();
        // the CLI reads emperor.ini too (for the socket): give it back a valid file, no SIGHUP
        EmperorProcess.write(emperor.configFile(), valid);

        assertThat(emperor.command("stop", "stubborn").code()).isZero();
        EmperorProcess.sleep(Duration.ofSeconds(4)); // the 1 s grace of the refused file must not apply
        assertThat(emperor.statusOf("stubborn").path("state").asText()).isEqualTo("stopping");

        // end the 60 s wait now: the tenant's processes die, and the stop completes
        for (int pid : emperor.processesOf("stubborn")) {
            new ProcessBuilder("kill", "-9", Integer.toString(pid)).start().waitFor();
        }
        emperor.waitForState("stubborn", "stopped", Duration.ofSeconds(15));
    }
}
