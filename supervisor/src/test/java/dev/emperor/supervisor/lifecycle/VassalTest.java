package dev.emperor.supervisor.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.jail.ExitStatus;
import dev.emperor.supervisor.config.VassalConfig;
import dev.emperor.supervisor.lifecycle.FakeVassalContext.FakePayload;
import dev.emperor.supervisor.lifecycle.Lifecycle.Phase;
import dev.emperor.supervisor.state.Desired;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Vassal} carrying out its table, against fakes of its own interfaces (no root, no kernel). */
class VassalTest {
    @TempDir
    Path dir;
    FakeVassalContext host;
    Vassal app;
    VassalConfig v1;
    VassalConfig v2;

    @BeforeEach
    void setUp() {
        host = new FakeVassalContext(dir);
        v1 = host.config("app", "env = VERSION=1");
        v2 = host.config("app", "env = VERSION=2");
        app = host.vassal("app");
    }

    private FakePayload running() {
        app.configured(v1);
        assertThat(app.state()).isEqualTo(VassalState.RUNNING);
        return host.lastSpawned();
    }

    @Test
    void aFileAppearingSpawnsItsPayload() {
        FakePayload p = running();
        assertThat(app.reason()).isEqualTo("file appeared");
        assertThat(app.progress().pid()).isEqualTo(p.pid);
        assertThat(host.events).containsExactly("IDENTITY new tenant (fresh identity)", "SPAWN pid 100 (file appeared)");
        assertThat(host.shownStates).containsExactly(VassalState.STOPPED, VassalState.STARTING, VassalState.RUNNING);
        assertThat(host.actions).contains("services start app");
    }

    @Test
    void aCrashLoopBacksOffLongerEachTimeAndAStableRunRestartsAtOnce() {
        running();
        for (int expected : new int[] {1, 2, 4, 8}) {
            host.lastSpawned().exit(ExitStatus.exited(1));
            assertThat(app.state()).isEqualTo(VassalState.BACKING_OFF);
            assertThat(app.reason()).isEqualTo("payload exit code 1; restart in " + expected + "s");
            assertThat(host.pendingTimers()).singleElement()
                    .satisfies(t -> assertThat(Duration.between(host.now, t.due)).hasSeconds(expected));
            assertThat(host.fireNextTimer()).isTrue();
            assertThat(app.state()).isEqualTo(VassalState.RUNNING);
            assertThat(app.reason()).isEqualTo("back-off delay over");
        }
        assertThat(app.status().restarts()).isEqualTo(4);

        host.now = host.now.plusSeconds(11); // a healthy run: its crash restarts at once, the back-off starts over
        int before = host.spawned.size();
        host.lastSpawned().exit(ExitStatus.killed(11));
        assertThat(app.state()).isEqualTo(VassalState.RUNNING);
        assertThat(app.reason()).isEqualTo("restarted: payload killed by signal 11");
        assertThat(host.spawned).hasSize(before + 1);
        host.lastSpawned().exit(ExitStatus.exited(1));
        assertThat(app.reason()).endsWith("restart in 1s");
    }

    @Test
    void aStopWhileTheSpawnRunsStopsThePayloadItStarted() {
        host.duringSpawn = () -> {
            host.duringSpawn = () -> { };
            app.stop(); // queued behind the spawn, as an operator's command arriving meanwhile
        };
        app.configured(v1);
        FakePayload p = host.lastSpawned();
        assertThat(app.state()).isEqualTo(VassalState.STOPPING);
        assertThat(p.signals).containsExactly(15);
        assertThat(host.rows.get("app").desired()).isEqualTo(Desired.STOP);

        p.exit(ExitStatus.killed(15));
        assertThat(app.state()).isEqualTo(VassalState.STOPPED);
        assertThat(app.reason()).isEqualTo("stopped; payload killed by signal 15");
        assertThat(host.spawned).hasSize(1);
        assertThat(host.pendingTimers()).isEmpty();
    }

    @Test
    void aReloadWhileStoppingNeitherSignalsAgainNorUndoesTheStop() {
        FakePayload p = running();
        app.stop();
        app.reload();
        assertThat(app.state()).isEqualTo(VassalState.RELOADING);
        assertThat(p.signals).as("one SIGTERM, one grace period").containsExactly(15);
        assertThat(host.pendingTimers()).hasSize(1);

        p.exit(ExitStatus.exited(0));
        assertThat(app.state()).as("the operator stopped it").isEqualTo(VassalState.STOPPED);
        assertThat(host.spawned).hasSize(1);
    }

    /** Found by {@link VassalModelTest}: a start during the stop was lost (the store said "run", nothing ran). */
    @Test
    void aStartWhileStoppingBringsANewPayloadOnceTheOldOneExits() {
        FakePayload p = running();
        app.stop();
        app.start();
        assertThat(p.signals).containsExactly(15);
        p.exit(ExitStatus.killed(15));
        assertThat(app.state()).isEqualTo(VassalState.RUNNING);
        assertThat(host.spawned).hasSize(2);
        assertThat(host.rows.get("app").desired()).isEqualTo(Desired.RUN);
    }

    @Test
    void aReloadRestartsWithOneSignalAndOneNewPayload() {
        FakePayload p = running();
        app.reload();
        app.reload();
        app.configured(v2);
        assertThat(p.signals).containsExactly(15);
        p.exit(ExitStatus.exited(0));
        assertThat(app.state()).isEqualTo(VassalState.RUNNING);
        assertThat(host.spawned).hasSize(2);
        assertThat(host.actions).contains("spawn app pid 101 hash " + v2.contentHash().substring(0, 8));
    }

    @Test
    void aPayloadIgnoringSigtermIsKilledWhenTheGracePeriodEnds() {
        FakePayload p = running();
        app.stop();
        assertThat(host.fireNextTimer()).isTrue();
        assertThat(host.actions).contains("kill app pid " + p.pid);
        assertThat(host.events).contains("STOP grace period over: SIGKILL to the cgroup");
        p.exit(ExitStatus.killed(9));
        assertThat(app.state()).isEqualTo(VassalState.STOPPED);
    }

    @Test
    void aGraceTimerOfAPayloadThatExitedKillsNothing() {
        FakePayload p = running();
        app.reload();
        FakeVassalContext.Timed grace = host.pendingTimers().get(0);
        p.exit(ExitStatus.exited(0));
        grace.task.run(); // fired just as the payload exited: stale
        assertThat(host.actions).noneMatch(a -> a.startsWith("kill"));
        assertThat(app.state()).isEqualTo(VassalState.RUNNING);
    }

    /**
     * The lost-file race: the watcher reports each version of a file once, so a file written
     * again (or rewritten) under the name of a tenant that is still stopping after its removal
     * must reach the vassal that takes its place, or the directory's final content is ignored.
     */
    @Test
    void aFileWrittenAgainWhileTheRemovedTenantStopsReachesItsSuccessor() {
        FakePayload old = running();
        app.removed();
        assertThat(app.state()).isEqualTo(VassalState.STOPPING);
        app.invalid("first rewrite, still being written");
        app.configured(v2); // the final content

        old.exit(ExitStatus.killed(15));
        assertThat(host.forgotten).containsExactly(app);
        assertThat(host.actions).contains("forget app with its file for a successor", "retire app");
        Vassal successor = host.current.get("app");
        assertThat(successor).isNotSameAs(app);
        assertThat(successor.state()).isEqualTo(VassalState.RUNNING);
        assertThat(host.actions).contains("spawn app pid 101 hash " + v2.contentHash().substring(0, 8));
        assertThat(host.violations).isZero();
    }

    @Test
    void aFileRemovedAgainWhileStoppingLeavesNothingForASuccessor() {
        FakePayload old = running();
        app.removed();
        app.configured(v2);
        app.removed();
        old.exit(ExitStatus.killed(15));
        assertThat(host.actions).contains("forget app");
        assertThat(host.current).doesNotContainKey("app");
    }

    @Test
    void aRemovedVassalWithoutPayloadIsForgottenAtOnce() {
        app.invalid("bad line");
        assertThat(app.state()).isEqualTo(VassalState.FAILED);
        app.removed();
        assertThat(host.forgotten).containsExactly(app);
        assertThat(app.lifecycle().phase()).isEqualTo(Phase.GONE);
        app.start(); // a command racing the removal does nothing to a forgotten vassal
        assertThat(host.spawned).isEmpty();
    }

    @Test
    void anInvalidFileKeepsTheRunningPayloadButStopsANewOne() {
        FakePayload p = running();
        app.invalid("line 3: unknown key");
        assertThat(app.state()).isEqualTo(VassalState.RUNNING);
        assertThat(app.reason()).isEqualTo("running the last valid configuration; file is invalid: line 3: unknown key");
        assertThat(p.signals).isEmpty();

        p.exit(ExitStatus.exited(1));
        assertThat(app.state()).as("it restarts on its last good file").isEqualTo(VassalState.BACKING_OFF);
        app.invalid("line 3: unknown key");
        assertThat(app.state()).isEqualTo(VassalState.FAILED);
        assertThat(host.pendingTimers()).as("no respawn of an invalid file").isEmpty();
    }

    @Test
    void liveLinesApplyWithoutARestartAndTheSameBytesDoNothing() {
        FakePayload p = running();
        app.configured(host.config("app", "env = VERSION=1"));
        VassalConfig withCron = host.config("app", "env = VERSION=1", "cron = @daily /bin/true");
        app.configured(withCron);
        assertThat(p.signals).isEmpty();
        assertThat(host.actions).contains("services apply app cron 1");
        assertThat(host.events).contains(
                "CONFIG file changed (only firewall, net-rate, web site, cron or daemon lines): applied without a restart");
        assertThat(host.rows.get("app").configHash()).isEqualTo(withCron.contentHash());
        assertThat(host.spawned).hasSize(1);
    }

    @Test
    void anAdoptedPayloadWhoseFileMatchesKeepsRunning() {
        host.rows.put("app", new VassalRecords.Recorded(Desired.RUN, 2, null, v1.contentHash(), 150000, 150000));
        Vassal adopting = host.vassal("app");
        FakeVassalContext.FakePayload survivor = host.new FakePayload(4242, "app");
        host.live.add(survivor);
        adopting.adopted(survivor, host.now.minusSeconds(60));
        assertThat(adopting.state()).isEqualTo(VassalState.RUNNING);
        adopting.configured(v1);
        assertThat(host.spawned).isEmpty();
        assertThat(host.actions).contains("services start app");
        assertThat(adopting.status().uptimeSeconds()).isEqualTo(60);

        adopting.configured(v2); // changed while the emperor was down: the new file needs a new payload
        assertThat(adopting.state()).isEqualTo(VassalState.RELOADING);
    }

    @Test
    void theEmperorShuttingDownStopsAndForgetsWithoutRetiring() {
        FakePayload p = running();
        app.shutdown();
        app.configured(v2); // the next emperor reads the directory afresh
        p.exit(ExitStatus.killed(15));
        assertThat(host.actions).contains("forget app", "release disk app").doesNotContain("retire app");
        assertThat(host.current).doesNotContainKey("app");
        assertThat(app.reason()).isEqualTo("emperor shut down");
    }

    @Test
    void aFailedSpawnBacksOffWithItsReasonAndAStartTriesAgainAtOnce() {
        host.spawnFailures.add(FakeVassalContext.jailFailure("no memory"));
        app.configured(v1);
        assertThat(app.state()).isEqualTo(VassalState.BACKING_OFF);
        assertThat(app.reason()).startsWith("spawn failed: ").endsWith("; restart in 1s");
        assertThat(app.progress().lastError()).contains("no memory");

        app.start();
        assertThat(app.state()).isEqualTo(VassalState.RUNNING);
        assertThat(app.progress().lastError()).isNull();
        FakeVassalContext.Timed stale = host.timers.get(0);
        stale.task.run(); // the cancelled back-off timer fires anyway: ignored
        assertThat(host.spawned).hasSize(1);
    }

    @Test
    void aStopOfAStoppedVassalKeepsItStoppedAndAStartWithoutAFileFails() {
        app.stop();
        assertThat(app.state()).isEqualTo(VassalState.STOPPED);
        app.configured(v1);
        assertThat(app.state()).isEqualTo(VassalState.STOPPED);
        assertThat(app.reason()).isEqualTo("stopped by operator (file is valid)");
        app.start();
        assertThat(app.state()).isEqualTo(VassalState.RUNNING);

        Vassal other = host.vassal("other");
        other.start();
        assertThat(other.state()).isEqualTo(VassalState.FAILED);
        assertThat(other.reason()).isEqualTo("no valid vassal file");
    }

    @Test
    void anEffectThatThrowsEndsInBackingOffWithTheErrorShown() {
        app.configured(v1);
        host.lastSpawned().exit(ExitStatus.exited(0));
        app.stop();
        host.failNextSetDesired = new IllegalStateException("disk on fire");
        app.start();
        assertThat(app.state()).isEqualTo(VassalState.BACKING_OFF);
        assertThat(app.progress().lastError()).contains("disk on fire");
        assertThat(host.fireNextTimer()).isTrue();
        assertThat(app.state()).isEqualTo(VassalState.RUNNING);
    }
}
