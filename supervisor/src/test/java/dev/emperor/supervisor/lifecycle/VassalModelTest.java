package dev.emperor.supervisor.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.jail.ExitStatus;
import dev.emperor.supervisor.config.VassalConfig;
import dev.emperor.supervisor.lifecycle.FakeVassalContext.FakePayload;
import dev.emperor.supervisor.lifecycle.Lifecycle.Phase;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random event sequences (seeded, so a failure replays) through a real {@link Vassal} and its
 * successors, checking what must hold whatever the order: never two payloads of one tenant, a
 * removed vassal ends forgotten, a wanted vassal with a valid file ends running or backing off.
 */
class VassalModelTest {
    private static final int RUNS = 200;
    private static final int EVENTS = 40;

    @TempDir
    Path dir;

    @Test
    void invariantsHoldOverRandomEventSequences() {
        FakeVassalContext host = new FakeVassalContext(dir);
        List<VassalConfig> files = List.of(host.config("app", "env = VERSION=1"), host.config("app", "env = VERSION=2"),
                host.config("app", "env = VERSION=2", "cron = @daily /bin/true"));
        for (int run = 0; run < RUNS; run++) {
            long seed = 1000 + run;
            check(new FakeVassalContext(dir.resolve("run" + run)), files, seed);
        }
    }

    private void check(FakeVassalContext host, List<VassalConfig> files, long seed) {
        Random random = new Random(seed);
        List<String> trace = new ArrayList<>();
        host.vassal("app");
        boolean fileThere = false;
        VassalConfig lastFile = null;
        boolean lastFileValid = false;
        for (int i = 0; i < EVENTS; i++) {
            int pick = random.nextInt(12);
            Vassal v = host.current.get("app");
            if (v == null) {
                if (pick > 2) continue; // commands name no vassal: only a file event makes one
                v = host.vassal("app");
            }
            switch (pick) {
                case 0, 1 -> {
                    lastFile = files.get(random.nextInt(files.size()));
                    lastFileValid = true;
                    fileThere = true;
                    trace.add("file " + files.indexOf(lastFile));
                    v.configured(lastFile);
                }
                case 2 -> {
                    lastFileValid = false;
                    fileThere = true;
                    trace.add("invalid");
                    v.invalid("line 1: broken");
                }
                case 3 -> {
                    if (!fileThere) continue; // the watcher reports removals of files it saw
                    fileThere = false;
                    trace.add("removed");
                    v.removed();
                }
                case 4 -> {
                    trace.add("start");
                    v.start();
                }
                case 5 -> {
                    trace.add("stop");
                    v.stop();
                }
                case 6 -> {
                    trace.add("reload");
                    v.reload();
                }
                case 7, 8 -> {
                    if (host.live.isEmpty()) continue;
                    FakePayload p = host.live.iterator().next();
                    if (random.nextBoolean()) host.now = host.now.plusSeconds(11);
                    trace.add("exit " + p.pid);
                    p.exit(random.nextBoolean() ? ExitStatus.exited(1) : ExitStatus.killed(15));
                }
                case 9 -> {
                    trace.add("timer");
                    host.fireNextTimer();
                }
                case 10 -> {
                    trace.add("spawn fails next");
                    host.spawnFailures.add(FakeVassalContext.jailFailure("no memory"));
                }
                default -> {
                    trace.add("state writable");
                    v.stateWritableAgain();
                }
            }
            assertThat(host.violations).as("two payloads at once, seed %d: %s", seed, trace).isZero();
            assertThat(host.live.size()).as("seed %d: %s", seed, trace).isLessThanOrEqualTo(1);
        }
        // Settle: payloads told to stop exit, timers fire, no new failures.
        host.spawnFailures.clear();
        for (int round = 0; round < 50; round++) {
            boolean moved = false;
            for (FakePayload p : List.copyOf(host.live)) {
                if (!p.signals.isEmpty()) {
                    p.exit(ExitStatus.killed(15));
                    moved = true;
                }
            }
            if (!moved && !host.fireNextTimer()) break;
        }
        String what = "seed " + seed + ": " + trace;
        assertThat(host.violations).as(what).isZero();
        Vassal v = host.current.get("app");
        if (!fileThere) {
            assertThat(v).as("a removed vassal ends forgotten, " + what).isNull();
            assertThat(host.live).as(what).isEmpty();
            return;
        }
        if (v == null) return; // the file came back after its vassal was forgotten: the next event makes one
        Lifecycle life = v.lifecycle();
        assertThat(life.phase()).as(what).isNotEqualTo(Phase.STARTING);
        if (life.wanted() && lastFileValid) {
            assertThat(life.phase()).as("a wanted vassal ends running or backing off, " + what)
                    .isIn(Phase.RUNNING, Phase.BACKING_OFF);
            assertThat(v.state()).as(what).isIn(VassalState.RUNNING, VassalState.BACKING_OFF);
        }
        if (!life.wanted()) assertThat(host.live).as("an unwanted vassal ends with nothing running, " + what).isEmpty();
        assertThat(v.state()).as("the state shown is the phase's, " + what).isEqualTo(life.phase().shown());
    }
}
