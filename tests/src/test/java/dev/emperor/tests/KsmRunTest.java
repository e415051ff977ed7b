package dev.emperor.tests;

import static dev.emperor.tests.EmperorProcess.SLEEPER;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * emperor.ini's ksm-run and the host's KSM daemon. /sys/kernel/mm/ksm/run is a host-wide
 * setting: every test reads it first and writes that value back when it ends, whatever happens.
 */
class KsmRunTest {
    private static final Path RUN = Path.of("/sys/kernel/mm/ksm/run");

    private EmperorProcess emperor;
    private String hostValue;

    @BeforeEach
    void setUp() throws IOException {
        hostValue = read();
        emperor = new EmperorProcess();
    }

    @AfterEach
    void tearDown() throws IOException {
        try {
            emperor.close();
        } finally {
            write(hostValue);
        }
    }

    private static String read() throws IOException {
        return Files.readString(RUN, StandardCharsets.US_ASCII).strip();
    }

    private static void write(String value) throws IOException {
        Files.writeString(RUN, value, StandardCharsets.US_ASCII);
    }

    @Test
    void ksmRunOnStartsKsmdAndPutsBackWhatWasThereEvenAfterACrash() throws Exception {
        emperor.set("ksm-run", "on").start();
        assertThat(read()).isEqualTo("1");
        if (hostValue.equals("1")) {
            // Already on: the emperor did not start it, so it must never stop it.
            assertThat(emperor.daemonOutput()).doesNotContain("started the host's ksmd");
            emperor.stop();
            assertThat(read()).isEqualTo("1");
            return;
        }
        assertThat(emperor.daemonOutput()).contains("started the host's ksmd");
        emperor.stop();
        assertThat(read()).as("restored at shutdown").isEqualTo(hostValue);

        // A crashed emperor cannot restore; the next one does, from the value it saved first.
        emperor.start();
        assertThat(read()).isEqualTo("1");
        emperor.kill9();
        assertThat(read()).isEqualTo("1");
        emperor.set("ksm-run", "off").start();
        assertThat(read()).as("ksm-run = off after a crash puts the host's value back").isEqualTo(hostValue);
        emperor.stop();
        assertThat(read()).isEqualTo(hostValue);
    }

    @Test
    void autoStartsKsmdOnlyOnceAVassalAsksAndStopsItAtShutdown() throws Exception {
        write("0");
        emperor.set("ksm-run", "auto").start();
        emperor.vassal("plain", SLEEPER, "distro = busybox");
        emperor.waitForRunning("plain");
        assertThat(read()).as("no vassal asks for ksm yet").isEqualTo("0");

        emperor.vassal("merger", SLEEPER, "distro = busybox", "ksm = yes");
        emperor.waitForRunning("merger");
        emperor.waitFor("ksmd started for merger", Duration.ofSeconds(10), () -> read().equals("1"));
        JsonNode ksm = emperor.statusOf("merger").path("ksm");
        assertThat(ksm.path("asked").asBoolean()).isTrue();
        assertThat(ksm.path("ksmd").asText()).isEqualTo("on");
        assertThat(ksm.path("warning").isNull()).isTrue();

        emperor.stop();
        assertThat(read()).isEqualTo("0");
    }

    @Test
    void statusWarnsWhenAVassalAsksForKsmWhileKsmdIsOff() throws Exception {
        write("0");
        emperor.start(); // ksm-run = off, the default: the host is left as it is
        emperor.vassal("merger", SLEEPER, "distro = busybox", "ksm = yes");
        emperor.vassal("plain", SLEEPER, "distro = busybox");
        emperor.waitForRunning("merger");
        emperor.waitForRunning("plain");
        assertThat(read()).isEqualTo("0");

        JsonNode ksm = emperor.statusOf("merger").path("ksm");
        assertThat(ksm.path("asked").asBoolean()).isTrue();
        assertThat(ksm.path("ksmd").asText()).isEqualTo("off");
        assertThat(ksm.path("warning").asText()).contains("merges nothing").contains("ksm-run");
        if (Files.exists(Path.of("/proc/self/ksm_merging_pages"))) { // Linux 6.1 and later
            assertThat(ksm.path("mergingPages").isIntegralNumber()).as("merged pages: %s", ksm).isTrue();
        } else {
            assertThat(ksm.path("mergingPages").isNull()).as("unknown, not 0: %s", ksm).isTrue();
        }
        JsonNode plain = emperor.statusOf("plain").path("ksm");
        assertThat(plain.path("asked").asBoolean()).isFalse();
        assertThat(plain.path("warning").isNull()).isTrue();

        assertThat(emperor.command("status", "merger").out()).contains("ksm:").contains("warning: ksm = yes merges nothing");
        assertThat(emperor.command("status").out()).contains("warning: ksm = yes in merger merges nothing");
        assertThat(emperor.daemonOutput()).contains("vassal merger: ksm = yes merges nothing");
    }
}
