package dev.emperor.jail;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PidfdReaperTest {
    private final PidfdReaper reaper = new PidfdReaper();

    @AfterEach
    void close() {
        reaper.close();
    }

    private CompletableFuture<ExitStatus> watch(TenantProcess p) {
        CompletableFuture<ExitStatus> exit = new CompletableFuture<>();
        reaper.watch(p, exit::complete);
        return exit;
    }

    @Test
    void reportsTheExitCode() throws Exception {
        try (TenantProcess p = PlainChildren.sh("exit 7", Map.of())) {
            assertThat(watch(p).get(10, TimeUnit.SECONDS)).isEqualTo(ExitStatus.exited(7));
            assertThat(p.isAlive()).isFalse();
        }
    }

    @Test
    void reportsTheKillingSignal() throws Exception {
        try (TenantProcess p = PlainChildren.sh("exec sleep 1000", Map.of())) {
            CompletableFuture<ExitStatus> exit = watch(p);
            assertThat(p.isAlive()).isTrue();
            assertThat(p.signal(LibC.SIGKILL)).isTrue();
            assertThat(exit.get(10, TimeUnit.SECONDS)).isEqualTo(ExitStatus.killed(LibC.SIGKILL));
            assertThat(p.signal(15)).isFalse();
        }
    }

    @Test
    void watchingAfterTheProcessClosedItsPidfdStillReports() throws Exception {
        TenantProcess p = PlainChildren.sh("exec sleep 1000", Map.of());
        CompletableFuture<ExitStatus> exit = watch(p);
        p.signal(15);
        p.close();
        assertThat(exit.get(10, TimeUnit.SECONDS)).isEqualTo(ExitStatus.killed(15));
    }

    @Test
    void aProcessThatIsNotOurChildEndsWithUnknownStatus() throws Exception {
        int[] pipe = PlainChildren.pipe();
        int grandchild;
        try (TenantProcess parent = PlainChildren.sh("sleep 1000 >/dev/null & echo $!", Map.of(1, pipe[1]))) {
            LibC.closeQuietly(pipe[1]);
            grandchild = Integer.parseInt(PlainChildren.readAll(pipe[0]).trim());
            LibC.closeQuietly(pipe[0]);
            assertThat(watch(parent).get(10, TimeUnit.SECONDS)).isEqualTo(ExitStatus.exited(0));
        }
        int pidfd = Pidfd.open(grandchild, "test");
        try (TenantProcess adopted = new TenantProcess("test", grandchild, ProcStat.startTimeOf(grandchild).orElseThrow(), pidfd, false)) {
            CompletableFuture<ExitStatus> exit = watch(adopted);
            adopted.signal(LibC.SIGKILL);
            assertThat(exit.get(10, TimeUnit.SECONDS)).isEqualTo(ExitStatus.UNKNOWN);
        }
    }
}
