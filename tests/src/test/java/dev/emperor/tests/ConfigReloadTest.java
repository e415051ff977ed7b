package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** SIGHUP re-reads emperor.ini; an invalid one is refused and the running configuration kept. */
class ConfigReloadTest {
    /** Ignores SIGTERM, so how long a stop takes is the configured stop-grace. */
    private static final String STUBBORN =
            "exec = sh -c \"trap '' TERM; echo $$ >> /run/spawns; while :; do sleep 1; done\"";

    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().set("stop-grace", "60s").build();
    private final EmperorProcess emperor = fixture.process();

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
    /**
     * A storm of SIGHUPs while the file alternates between two valid versions: the JDK ran each
     * signal's reload on a thread of its own, so reloads overlapped and could end with the
     * listeners of one version and the rest of the other. Reloads now run one at a time and
     * the version on disk at the last SIGHUP is applied last, whole.
     */
    @Test
    void aStormOfSighupsEndsWithTheLastFileWhole() throws Exception {
        String original = java.nio.file.Files.readString(emperor.configFile());
        String httpLine = "http-listen = 127.0.0.1:" + emperor.httpPort();
        String httpsLine = "https-listen = 127.0.0.1:" + emperor.httpsPort();
        assertThat(original).contains(httpLine).contains(httpsLine);
        int[] http = {EmperorProcess.freePort(), EmperorProcess.freePort()};
        int[] https = {EmperorProcess.freePort(), EmperorProcess.freePort()};
        String[] versions = new String[2];
        for (int v = 0; v < 2; v++) {
            versions[v] = original.replace(httpLine, "http-listen = 127.0.0.1:" + http[v])
                    .replace(httpsLine, "https-listen = 127.0.0.1:" + https[v])
                    .replace("stop-grace = 60s", "stop-grace = " + (v + 1) + "s");
        }
        String pid = Long.toString(emperor.daemonPid());
        for (int i = 0; i < 20; i++) {
            EmperorProcess.writeAtomically(emperor.configFile(), versions[i % 2]);
            new ProcessBuilder("kill", "-HUP", pid).start().waitFor();
        }
        // the last version written was versions[1]
        emperor.waitFor("the proxy to listen on the last version's addresses only", Duration.ofSeconds(30),
                () -> statusOn(http[1]).equals("404") && statusOn(http[0]).equals("000")
                        && statusOn(emperor.httpPort()).equals("000")
                        && tlsAnswers(https[1]) && !tlsAnswers(https[0]),
                emperor::daemonOutput);
        // one more SIGHUP changes nothing: the state already is the file's
        new ProcessBuilder("kill", "-HUP", pid).start().waitFor();
        EmperorProcess.sleep(Duration.ofSeconds(2));
        assertThat(statusOn(http[1])).isEqualTo("404");
        assertThat(tlsAnswers(https[1])).isTrue();
        assertThat(emperor.daemonOutput()).doesNotContain("cannot listen on");
    }

    private static boolean tlsAnswers(int port) {
        String code = TenantWebApp.run(java.util.List.of("curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}",
                "--max-time", "5", "-H", "Host: nobody.test", "https://127.0.0.1:" + port + "/")).trim();
        return code.equals("404");
    }

    @Test
    void aDeletedControlSocketIsMadeAgainOnSighup() throws Exception {
        java.nio.file.Path socket = emperor.root().resolve("run/control.sock");
        java.nio.file.Files.delete(socket);
        assertThat(emperor.command("status").code()).isNotZero();
        new ProcessBuilder("kill", "-HUP", Long.toString(emperor.daemonPid())).start().waitFor();
        emperor.waitFor("the control socket to answer again", Duration.ofSeconds(15),
                () -> emperor.command("status").code() == 0, emperor::daemonOutput);
        assertThat(emperor.daemonOutput()).contains("had been deleted: listening on it again");
    }
}
