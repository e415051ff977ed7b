package dev.emperor.tests;

import static dev.emperor.tests.EmperorProcess.SLEEPER;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The emperor at a low open-file limit (issue 21: at the limit, spawns failed with "Too many open
 * files", the watcher could not list the directory and accept failed). The proxy's connection
 * total keeps descriptors for the emperor's own work, and a max-connections the limit cannot
 * carry is refused, naming the key.
 */
class OpenFileLimitTest {
    private static final int LIMIT = 1024;
    private static final int CONNECTIONS = 4 * 64;

    @Test
    void aMaxConnectionsTheOpenFileLimitCannotCarryIsRefusedNamingTheKey() {
        EmperorProcess emperor = new EmperorProcess().withOpenFileLimit(LIMIT).set("max-connections", "1000");
        String failure = emperor.startExpectingFailure();
        assertThat(failure).contains("max-connections = 1000 is more than the open-file limit " + LIMIT + " carries");
    }

    @Test
    void withTheProxyFullANewTenantStillSpawnsAndAChangedFileIsApplied() throws Exception {
        try (EmperorProcess emperor = new EmperorProcess().withOpenFileLimit(LIMIT)) {
            emperor.start();
            emperor.vassal("alpha", SLEEPER, "distro = busybox", "hostname = before");
            int alphaPid = emperor.waitForRunning("alpha").path("pid").asInt();

            List<Socket> held = new ArrayList<>();
            try {
                // Far more connections than the total the limit carries (64 at 1024): the proxy
                // keeps its total by closing the oldest idle ones, never by running out of descriptors.
                for (int i = 0; i < CONNECTIONS; i++) held.add(connect(emperor.httpPort()));
                emperor.waitFor("the proxy to be at its total", Duration.ofSeconds(60),
                        () -> emperor.daemonOutput().contains("(max-connections 64)"), emperor::daemonOutput);

                // The proxy is full; the emperor's own work still has descriptors.
                emperor.vassal("beta", SLEEPER, "distro = busybox");
                emperor.vassal("alpha", SLEEPER, "distro = busybox", "hostname = after");
                emperor.waitForRunning("beta");
                emperor.waitFor("alpha's changed file to be applied", Duration.ofSeconds(60), () -> {
                    var out = EmperorProcess.readLines(emperor.runDirOf("alpha").resolve("out"));
                    return !out.isEmpty() && out.get(0).equals("after");
                }, () -> emperor.status("alpha") + "\n" + emperor.daemonOutput());
                assertThat(emperor.statusOf("alpha").path("pid").asInt()).isNotEqualTo(alphaPid);
                assertThat(emperor.daemonOutput()).doesNotContain("Too many open files");
            } finally {
                for (Socket s : held) s.close();
            }
        }
    }

    /** A connection to the proxy with half a request head sent (it waits for the rest). */
    private static Socket connect(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        try {
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: held.test\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        } catch (IOException closedMeanwhile) {
            // shed already: it still counts as one the test opened
        }
        return s;
    }
}
