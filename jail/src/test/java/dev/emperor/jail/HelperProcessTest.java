package dev.emperor.jail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HelperProcessTest {
    @Test
    void childFindsEachFdAtItsTargetNumber() {
        int[] out = PlainChildren.pipe();
        int[] side = PlainChildren.pipe();
        // Crossed on purpose: each source sits on a number another action writes to.
        try (TenantProcess p = PlainChildren.sh("echo out; echo side >&" + HelperProcess.REPORT_FD,
                Map.of(1, out[1], HelperProcess.REPORT_FD, side[1]))) {
            LibC.closeQuietly(out[1]);
            LibC.closeQuietly(side[1]);
            assertThat(PlainChildren.readAll(out[0])).isEqualTo("out\n");
            assertThat(PlainChildren.readAll(side[0])).isEqualTo("side\n");
            assertThat(Pidfd.reap(p.pidfd(), true)).isEqualTo(ExitStatus.exited(0));
        } finally {
            LibC.closeQuietly(out[0]);
            LibC.closeQuietly(side[0]);
        }
    }

    @Test
    void closeOnExecFdsOfTheJvmAreNotInherited() {
        int[] out = PlainChildren.pipe();
        int[] unrelated = PlainChildren.pipe();
        try (TenantProcess p = PlainChildren.sh("test -e /proc/self/fd/" + unrelated[1] + " && echo leaked || echo clean",
                Map.of(1, out[1]))) {
            LibC.closeQuietly(out[1]);
            assertThat(PlainChildren.readAll(out[0])).isEqualTo("clean\n");
            Pidfd.reap(p.pidfd(), true);
        } finally {
            for (int fd : new int[] {out[0], unrelated[0], unrelated[1]}) LibC.closeQuietly(fd);
        }
    }

    @Test
    void childEnvironmentIsExactlyTheOneGiven() {
        int[] out = PlainChildren.pipe();
        int pid;
        try (HelperProcess hp = HelperProcess.prepare(Path.of("/usr/bin/env"), List.of("env"), List.of("A=1", "B=two"),
                Map.of(1, out[1]))) {
            pid = hp.spawn();
        }
        LibC.closeQuietly(out[1]);
        int pidfd = Pidfd.open(pid, "test");
        try {
            assertThat(PlainChildren.readAll(out[0])).isEqualTo("A=1\nB=two\n");
            Pidfd.reap(pidfd, true);
        } finally {
            LibC.closeQuietly(out[0]);
            LibC.closeQuietly(pidfd);
        }
    }

    @Test
    void aMissingProgramIsReportedBySpawn() {
        try (HelperProcess hp = HelperProcess.prepare(Path.of("/nonexistent/emperor-init"), List.of("x"), List.of(), Map.of())) {
            assertThatThrownBy(hp::spawn)
                    .isInstanceOf(JailException.class)
                    .hasMessage("posix_spawn: /nonexistent/emperor-init: No such file or directory");
        }
    }
}
