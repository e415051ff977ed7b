package dev.emperor.jail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class SetupThreadTest {
    private static String netns() throws Exception {
        return Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
    }

    @Test
    void namespacesUnsharedByTheJobStayOnItsThread() throws Exception {
        String host = netns();
        String inJob = SetupThread.run("test", () -> {
            Namespaces.unshare(LibC.CLONE_NEWNET, "test");
            return netns();
        });
        assertThat(inJob).isNotEqualTo(host);
        assertThat(netns()).isEqualTo(host);
    }

    @Test
    void aJobCanChangeTheHostnameOfItsOwnUtsNamespaceOnly() throws Exception {
        String host = Files.readString(Path.of("/proc/sys/kernel/hostname"));
        String inJob = SetupThread.run("test", () -> {
            Namespaces.unshare(LibC.CLONE_NEWUTS, "test");
            Namespaces.setHostname("inside.test", "test");
            return Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
        });
        assertThat(inJob).isEqualTo("inside.test");
        assertThat(Files.readString(Path.of("/proc/sys/kernel/hostname"))).isEqualTo(host);
    }

    @Test
    void theJobsFailureReachesTheCaller() {
        assertThatThrownBy(() -> SetupThread.run("test", () -> {
            throw new JailException("mount", "/x: No such file or directory");
        })).isInstanceOf(JailException.class).hasMessage("mount: /x: No such file or directory");
    }
}
