package dev.emperor.supervisor.lifecycle;

import static dev.emperor.supervisor.lifecycle.Effect.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.supervisor.lifecycle.Lifecycle.Phase;
import dev.emperor.supervisor.lifecycle.Transition.Step;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Every cell of the table (each phase, event and combination of flags) keeps the lifecycle's rules. */
class TransitionTest {
    private static final Set<Effect> TIMER_EFFECTS = Set.of(CANCEL_TIMER, TERMINATE, BACK_OFF, RETRY_SOON);

    private static List<Lifecycle> everyLifecycle() {
        List<Lifecycle> all = new ArrayList<>();
        for (Phase phase : Phase.values()) {
            for (int bits = 0; bits < 16; bits++) {
                all.add(new Lifecycle(phase, (bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0, (bits & 8) != 0, 5));
            }
        }
        return all;
    }

    @Test
    void everyTransitionKeepsTheRules() {
        int cells = 0;
        for (Lifecycle now : everyLifecycle()) {
            for (LifecycleEvent event : LifecycleEvent.values()) {
                Step step = Transition.next(now, event);
                check(now, event, step);
                cells++;
            }
        }
        assertThat(cells).isEqualTo(Phase.values().length * 16 * LifecycleEvent.values().length);
    }

    private static void check(Lifecycle now, LifecycleEvent event, Step step) {
        Lifecycle next = step.next();
        List<Effect> fx = step.effects();
        String cell = now + " x " + event + " -> " + next + " " + fx;
        Phase from = now.phase();
        Phase to = next.phase();

        if (from == Phase.GONE) {
            assertThat(next).as("a forgotten vassal does nothing: " + cell).isEqualTo(now);
            assertThat(fx).as(cell).isEmpty();
            return;
        }
        if (from == Phase.STARTING && !Set.of(LifecycleEvent.SPAWNED, LifecycleEvent.SPAWN_FAILED,
                LifecycleEvent.SPAWN_REFUSED, LifecycleEvent.HANDLER_FAILED).contains(event)) {
            // Cannot arrive: the spawn's result is handled before the next event.
            assertThat(next).as("nothing else reaches a vassal mid-spawn: " + cell).isEqualTo(now);
            assertThat(fx).as(cell).isEmpty();
            return;
        }
        assertThat(fx.contains(FORGET)).as("forgotten exactly when it is gone: " + cell).isEqualTo(to == Phase.GONE);
        assertThat(fx.contains(SPAWN)).as("a spawn exactly when starting: " + cell)
                .isEqualTo(to == Phase.STARTING && from != Phase.STARTING);
        if (fx.contains(SPAWN)) {
            assertThat(fx.get(fx.size() - 1)).as("the spawn's result is the next event: " + cell).isEqualTo(SPAWN);
            assertThat(next.wanted() && next.valid()).as("only a wanted, valid vassal spawns: " + cell).isTrue();
            if (from.hasPayload()) {
                assertThat(fx.indexOf(REAP)).as("never a second payload: the old one is reaped first: " + cell)
                        .isBetween(0, fx.indexOf(SPAWN));
            }
        }
        if (fx.contains(TERMINATE)) {
            assertThat(from).as("SIGTERM once, to a running payload: " + cell).isEqualTo(Phase.RUNNING);
            assertThat(to.goingDown()).as(cell).isTrue();
        }
        if (from.goingDown()) {
            assertThat(fx).as("a payload going down is never signalled again: " + cell).doesNotContain(TERMINATE);
        }
        assertThat(fx.contains(REAP)).as("a payload ends only by exiting: " + cell)
                .isEqualTo(from.hasPayload() && !to.hasPayload());
        if (!from.hasPayload() && to.hasPayload()) {
            assertThat(fx).as("a payload comes only from a spawn or an adoption: " + cell)
                    .containsAnyOf(TAKE_SPAWNED, TAKE_PAYLOAD);
        }
        if (from.leaving()) assertThat(to.leaving()).as("a removal is never undone: " + cell).isTrue();
        if (fx.stream().anyMatch(TIMER_EFFECTS::contains)) {
            assertThat(next.timer()).as("a cancelled or replaced timer is stale: " + cell).isGreaterThan(now.timer());
        } else {
            assertThat(next.timer()).as(cell).isEqualTo(now.timer());
        }
        if (to == Phase.BACKING_OFF && from != Phase.BACKING_OFF) {
            assertThat(fx).as("backing off means a respawn is timed: " + cell).containsAnyOf(BACK_OFF, RETRY_SOON);
        }
        if (to.shown() != from.shown() && to != Phase.GONE) {
            assertThat(fx).as("every change of the state shown is shown: " + cell).contains(STATE);
        }
        if (fx.contains(STATE) && step.why() == Transition.Why.UNCHANGED) {
            assertThat(to).as("a state shown comes with its reason: " + cell).isEqualTo(from);
        }
        if (event == LifecycleEvent.START) assertThat(next.wanted()).as(cell).isTrue();
        if (event == LifecycleEvent.STOP) assertThat(next.wanted()).as(cell).isFalse();
        if (event == LifecycleEvent.FILE_REMOVED) assertThat(to.leaving()).as(cell).isTrue();
        if (to == Phase.FAILED && from != Phase.FAILED) {
            assertThat(next.valid()).as("failed means no valid file: " + cell).isFalse();
        }
        if (event == LifecycleEvent.SPAWNED) assertThat(to).as(cell).isEqualTo(from == Phase.STARTING ? Phase.RUNNING : from);
    }

    @Test
    void aFileWrittenWhileTheRemovedTenantStopsIsKeptForItsSuccessor() {
        Lifecycle removing = new Lifecycle(Phase.REMOVING, false, true, true, false, 3);
        assertThat(Transition.next(removing, LifecycleEvent.FILE_CHANGED).effects()).containsExactly(KEEP_FILE_FOR_SUCCESSOR);
        assertThat(Transition.next(removing, LifecycleEvent.FILE_INVALID).effects()).containsExactly(KEEP_FILE_FOR_SUCCESSOR);
        assertThat(Transition.next(removing, LifecycleEvent.FILE_REMOVED).effects()).containsExactly(DROP_FILE_FOR_SUCCESSOR);
        assertThat(Transition.next(removing, LifecycleEvent.SHUTDOWN).effects()).containsExactly(DROP_FILE_FOR_SUCCESSOR);
        assertThat(Transition.next(removing, LifecycleEvent.EXITED).effects()).endsWith(FORGET);
    }

    @Test
    void aSpawnRefusedByTheStateDirectoryIsSaidOnceThenRetriedQuietlyEverySecond() {
        Lifecycle starting = new Lifecycle(Phase.STARTING, true, true, true, false, 0);
        Step first = Transition.next(starting, LifecycleEvent.SPAWN_REFUSED);
        assertThat(first.effects()).containsExactly(REPORT_SPAWN_FAILURE, RETRY_SOON, STATE);
        assertThat(first.next().waitingForStateDirectory()).isTrue();
        Step again = Transition.next(first.next().in(Phase.STARTING), LifecycleEvent.SPAWN_REFUSED);
        assertThat(again.effects()).containsExactly(NOTE_SPAWN_FAILURE_QUIETLY, RETRY_SOON, STATE);
        Step writable = Transition.next(again.next(), LifecycleEvent.STATE_WRITABLE);
        assertThat(writable.next().phase()).isEqualTo(Phase.STARTING);
        assertThat(Transition.next(writable.next(), LifecycleEvent.SPAWNED).next().waitingForStateDirectory()).isFalse();
    }
}
