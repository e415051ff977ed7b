package dev.emperor.tunrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

/** Needs root: makes a network namespace with {@code ip netns add} and enters it. */
class NetnsThreadTest {
    private static String ownNetns() throws IOException {
        return Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
    }

    @Test
    void runsTheBodyInTheGivenNamespaceAndLeavesTheCallerWhereItWas() throws Exception {
        String caller = ownNetns();
        String name = String.format("emperor-test-%06x", ThreadLocalRandom.current().nextInt(1 << 24));
        Path file = Path.of("/run/netns", name);
        ip("netns", "add", name);
        try {
            String inside = NetnsThread.call(file, NetnsThreadTest::ownNetns);
            assertThat(inside).isEqualTo("net:[" + Files.getAttribute(file, "unix:ino") + "]").isNotEqualTo(caller);
            assertThat(ownNetns()).isEqualTo(caller);
        } finally {
            ip("netns", "del", name);
        }
    }

    private static void ip(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("ip"));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).inheritIO().start();
        assertThat(process.waitFor()).as(String.join(" ", command)).isZero();
    }

    @Test
    void aMissingNamespaceFileIsNamed() {
        assertThatThrownBy(() -> NetnsThread.call(Path.of("/run/netns/emperor-test-missing"), () -> 1))
                .isInstanceOf(NetworkSetupException.class)
                .hasMessage("open network namespace /run/netns/emperor-test-missing: No such file or directory");
    }

    @Test
    void whatTheBodyThrowsReachesTheCaller() {
        assertThatThrownBy(() -> NetnsThread.call(Path.of("/proc/self/ns/net"), () -> {
            throw new IllegalStateException("from inside");
        })).isInstanceOf(IllegalStateException.class).hasMessage("from inside");
        assertThatThrownBy(() -> NetnsThread.call(Path.of("/proc/self/ns/net"), () -> {
            throw new IOException("checked");
        })).isInstanceOf(NetworkSetupException.class).hasRootCauseMessage("checked");
    }

}
