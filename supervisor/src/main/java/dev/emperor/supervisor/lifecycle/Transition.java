package dev.emperor.supervisor.lifecycle;

import static dev.emperor.supervisor.lifecycle.Effect.*;

import dev.emperor.supervisor.lifecycle.Lifecycle.Phase;
import java.util.ArrayList;
import java.util.List;

/**
 * The vassal lifecycle as one pure function, {@code (lifecycle, event) -> (lifecycle, reason,
 * effects)}, after s6-supervise's {@code [state][event]} action table: one place says what
 * every event does in every phase. docs/ARCHITECTURE.md prints the table (TransitionTableTest
 * renders it from this class and fails if the document differs).
 */
public final class Transition {
    private Transition() {}

    /** Why the vassal is in its (new) state, shown in status; {@link #UNCHANGED} keeps the old reason. */
    public enum Why {
        UNCHANGED, FILE_APPEARED, FILE_CHANGED, STOPPED_WITH_VALID_FILE, FILE_INVALID, RUNNING_LAST_VALID,
        FILE_REMOVED, SHUTTING_DOWN, SHUT_DOWN, ADOPTED, STATE_WRITABLE, STARTED, NO_VALID_FILE,
        STOPPED_BY_OPERATOR, RELOAD_REQUESTED, STOPPED_AFTER_EXIT, RELOADED, STOPPED, CONFIG_ERROR, PAYLOAD_EXITED,
        EXIT_BACKING_OFF, RESTARTED, RETRY_DUE, SPAWNED, SPAWN_FAILED, WAITING_FOR_STATE, HANDLER_FAILED
    }

    /** The outcome: the new lifecycle, why (if the state is shown anew) and what to do, in order. */
    public record Step(Lifecycle next, Why why, List<Effect> effects) {
        public Step {
            effects = List.copyOf(effects);
        }
    }

    public static Step next(Lifecycle now, LifecycleEvent event) {
        if (now.phase() == Phase.GONE) return stay(now); // forgotten: nothing more happens to it
        if (now.phase() == Phase.STARTING && !spawnResult(event)) {
            return stay(now); // cannot arrive: a spawn's result is handled before the next event
        }
        return switch (event) {
            case FILE_CHANGED, FILE_UNCHANGED, FILE_LIVE_CHANGE, FILE_MATCHES_ADOPTED -> fileValid(now, event);
            case FILE_INVALID -> fileInvalid(now);
            case FILE_REMOVED -> fileRemoved(now);
            case ADOPTED -> adopted(now);
            case START -> start(now);
            case STOP -> stop(now);
            case RELOAD -> reload(now);
            case SHUTDOWN -> shutdown(now);
            case EXITED, EXITED_AFTER_STABLE_RUN -> exited(now, event == LifecycleEvent.EXITED_AFTER_STABLE_RUN);
            case GRACE_OVER -> now.phase().goingDown() ? stay(now, RECORD_EVENT, KILL) : stay(now);
            case RETRY_DUE -> now.phase() == Phase.BACKING_OFF && now.wanted() && now.valid()
                    ? spawn(now, Why.RETRY_DUE, new ArrayList<>()) : stay(now);
            case SPAWNED -> now.phase() != Phase.STARTING ? stay(now)
                    : new Step(now.in(Phase.RUNNING).waitingForStateDirectory(false), Why.SPAWNED,
                            List.of(TAKE_SPAWNED, WATCH, RECORD_SPAWN, STATE, START_SERVICES));
            case SPAWN_FAILED -> now.phase() != Phase.STARTING ? stay(now)
                    : new Step(now.in(Phase.BACKING_OFF).waitingForStateDirectory(false).newTimer(), Why.SPAWN_FAILED,
                            List.of(REPORT_SPAWN_FAILURE, BACK_OFF, STATE));
            case SPAWN_REFUSED -> now.phase() != Phase.STARTING ? stay(now)
                    // Said once, then retried quietly every second until the directory takes writes.
                    : new Step(now.in(Phase.BACKING_OFF).waitingForStateDirectory(true).newTimer(),
                            Why.WAITING_FOR_STATE, List.of(now.waitingForStateDirectory()
                                    ? NOTE_SPAWN_FAILURE_QUIETLY : REPORT_SPAWN_FAILURE, RETRY_SOON, STATE));
            case STATE_WRITABLE -> now.phase() == Phase.BACKING_OFF && now.waitingForStateDirectory() && now.wanted()
                    && now.valid() ? spawn(now.newTimer(), Why.STATE_WRITABLE, list(CANCEL_TIMER)) : stay(now);
            case HANDLER_FAILED -> handlerFailed(now);
        };
    }

    private static boolean spawnResult(LifecycleEvent event) {
        return event == LifecycleEvent.SPAWNED || event == LifecycleEvent.SPAWN_FAILED
                || event == LifecycleEvent.SPAWN_REFUSED || event == LifecycleEvent.HANDLER_FAILED;
    }

    private static Step fileValid(Lifecycle now, LifecycleEvent event) {
        if (now.phase().leaving()) return keepForSuccessor(now);
        List<Effect> effects = arrival(now);
        effects.add(TAKE_FILE);
        Lifecycle next = now.afterArrival().valid(true);
        if (now.phase().hasPayload()) {
            return switch (event) {
                case FILE_MATCHES_ADOPTED -> step(next, Why.UNCHANGED, effects, START_ADOPTED_SERVICES);
                case FILE_UNCHANGED -> step(next, Why.UNCHANGED, effects);
                case FILE_LIVE_CHANGE -> step(next, Why.UNCHANGED, effects, APPLY_WITHOUT_RESTART);
                default -> {
                    effects.add(RECORD_EVENT);
                    yield goDown(now, next, Phase.RELOADING, Why.FILE_CHANGED, effects);
                }
            };
        }
        if (!now.wanted()) return step(next.in(Phase.STOPPED), Why.STOPPED_WITH_VALID_FILE, effects, STATE);
        effects.add(CANCEL_TIMER);
        return spawn(next.newTimer(), now.valid() ? Why.FILE_CHANGED : Why.FILE_APPEARED, effects);
    }

    private static Step fileInvalid(Lifecycle now) {
        if (now.phase().leaving()) return keepForSuccessor(now);
        List<Effect> effects = arrival(now);
        effects.add(TAKE_ERROR);
        Lifecycle next = now.afterArrival();
        // A running payload keeps the site up on its last good configuration; the error is shown.
        if (now.phase().hasPayload()) return step(next, Why.RUNNING_LAST_VALID, effects, STATE);
        return step(next.valid(false).in(Phase.FAILED).newTimer(), Why.FILE_INVALID, effects,
                CANCEL_TIMER, DROP_CONFIG, STATE);
    }

    /**
     * The watcher reports each version of a file once: a file written again under the name of
     * a removed tenant that is still stopping goes to the vassal that takes its place, so the
     * directory's final content wins (an editor's rename-and-rewrite, {@code rm a.ini; cp b a.ini}).
     */
    private static Step keepForSuccessor(Lifecycle now) {
        return now.phase() == Phase.REMOVING ? stay(now, KEEP_FILE_FOR_SUCCESSOR) : stay(now);
    }

    private static Step fileRemoved(Lifecycle now) {
        Phase phase = now.phase();
        if (phase == Phase.REMOVING) return stay(now, DROP_FILE_FOR_SUCCESSOR); // what came back is gone too
        if (phase == Phase.SHUTTING_DOWN) return stay(now);
        Lifecycle next = now.wanted(false);
        if (phase.hasPayload()) return goDown(now, next, Phase.REMOVING, Why.FILE_REMOVED, list(RECORD_EVENT));
        return step(next.in(Phase.GONE).newTimer(), Why.FILE_REMOVED, list(),
                CANCEL_TIMER, RECORD_EVENT, CLEAN_UP_REMOVED, RETIRE, STATE, FORGET);
    }

    private static Step adopted(Lifecycle now) {
        // Adoption is a fresh vassal's first event; a vassal that already has a payload ignores it.
        if (now.phase().hasPayload() || now.phase().leaving()) return stay(now);
        return step(now.in(Phase.RUNNING), Why.ADOPTED, list(), TAKE_PAYLOAD, STATE, RECORD_EVENT, WATCH);
    }

    private static Step start(Lifecycle now) {
        Lifecycle next = now.wanted(true);
        List<Effect> effects = list(PERSIST_WANTED, RESET_BACKOFF);
        if (now.phase() == Phase.STOPPING) {
            // Started again while the operator's stop is under way: the stop goes on (no second
            // signal), and a new payload follows its exit, as after a reload.
            effects.add(RECORD_EVENT);
            return step(next.in(Phase.RELOADING), Why.STARTED, effects, STATE);
        }
        if (now.phase().hasPayload() || now.phase().leaving()) return step(next, Why.UNCHANGED, effects);
        effects.add(CANCEL_TIMER);
        next = next.newTimer();
        if (!now.valid()) return step(next.in(Phase.FAILED), Why.NO_VALID_FILE, effects, STATE);
        effects.add(RECORD_EVENT);
        return spawn(next, Why.STARTED, effects);
    }

    private static Step stop(Lifecycle now) {
        Lifecycle next = now.wanted(false);
        List<Effect> effects = list(PERSIST_WANTED);
        if (now.phase().hasPayload()) {
            effects.add(RECORD_EVENT);
            return goDown(now, next, Phase.STOPPING, Why.STOPPED_BY_OPERATOR, effects);
        }
        // Whatever an earlier emperor left in its cgroup stops too.
        effects.addAll(List.of(CANCEL_TIMER, KILL_LEFTOVERS));
        next = next.newTimer();
        if (now.phase() == Phase.FAILED) return step(next, Why.UNCHANGED, effects);
        return step(next.in(Phase.STOPPED), Why.STOPPED_BY_OPERATOR, effects, STATE);
    }

    private static Step reload(Lifecycle now) {
        if (now.phase().leaving()) return stay(now);
        if (now.phase().hasPayload()) return goDown(now, now, Phase.RELOADING, Why.RELOAD_REQUESTED, list(RECORD_EVENT));
        if (!now.valid() || !now.wanted()) return stay(now);
        return spawn(now.newTimer(), Why.RELOAD_REQUESTED, list(CANCEL_TIMER));
    }

    private static Step shutdown(Lifecycle now) {
        Phase phase = now.phase();
        // The emperor is going: its next start reads the directory afresh, so nothing is kept for a successor.
        if (phase == Phase.REMOVING) return stay(now, DROP_FILE_FOR_SUCCESSOR);
        if (phase == Phase.SHUTTING_DOWN) return stay(now);
        if (phase.hasPayload()) return goDown(now, now, Phase.SHUTTING_DOWN, Why.SHUTTING_DOWN, list());
        return step(now.in(Phase.GONE).newTimer(), Why.UNCHANGED, list(),
                CANCEL_TIMER, KILL_LEFTOVERS, RELEASE_DISK, FORGET);
    }

    private static Step exited(Lifecycle now, boolean afterStableRun) {
        Phase phase = now.phase();
        if (!phase.hasPayload()) return stay(now); // no payload to exit
        Lifecycle next = now.newTimer();
        List<Effect> effects = list(REAP, CANCEL_TIMER);
        return switch (phase) {
            case RUNNING -> {
                effects.add(RECORD_CRASH);
                if (!now.wanted()) yield step(next.in(Phase.STOPPED), Why.PAYLOAD_EXITED, effects, STATE);
                if (!now.valid()) yield step(next.in(Phase.FAILED), Why.CONFIG_ERROR, effects, STATE);
                if (afterStableRun) {
                    effects.add(RESET_BACKOFF);
                    yield spawn(next, Why.RESTARTED, effects);
                }
                yield step(next.in(Phase.BACKING_OFF).newTimer(), Why.EXIT_BACKING_OFF, effects, BACK_OFF, STATE);
            }
            case STOPPING -> step(next.in(Phase.STOPPED), Why.STOPPED_AFTER_EXIT, effects, RECORD_EXIT, STATE);
            case RELOADING -> {
                effects.add(RECORD_EXIT);
                if (!now.valid()) yield step(next.in(Phase.FAILED), Why.CONFIG_ERROR, effects, STATE);
                if (!now.wanted()) yield step(next.in(Phase.STOPPED), Why.STOPPED, effects, STATE);
                yield spawn(next, Why.RELOADED, effects);
            }
            case REMOVING -> step(next.in(Phase.GONE), Why.FILE_REMOVED, effects,
                    RECORD_EXIT, CLEAN_UP_REMOVED, RETIRE, STATE, FORGET);
            case SHUTTING_DOWN -> step(next.in(Phase.GONE), Why.SHUT_DOWN, effects, RECORD_EXIT, RELEASE_DISK, STATE,
                    FORGET);
            default -> throw new IllegalStateException("no payload in " + phase);
        };
    }

    /**
     * The tenant must never stay down, or half-way, with nothing said: the error is shown, and a
     * tenant that should run but has no payload tries again after its back-off.
     */
    private static Step handlerFailed(Lifecycle now) {
        Phase phase = now.phase();
        if (phase.hasPayload() || phase.leaving() || phase == Phase.BACKING_OFF || !now.wanted() || !now.valid()) {
            return stay(now, REPORT_HANDLER_FAILURE);
        }
        return step(now.in(Phase.BACKING_OFF).newTimer(), Why.HANDLER_FAILED, list(REPORT_HANDLER_FAILURE),
                BACK_OFF, STATE);
    }

    /**
     * SIGTERM to a running payload and time its grace period; a payload already on its way down
     * changes only what follows its exit (never undoing a removal or a shutdown), without a new
     * signal or a new grace period, so a stream of events cannot keep a stubborn payload alive.
     */
    private static Step goDown(Lifecycle now, Lifecycle next, Phase target, Why why, List<Effect> effects) {
        return switch (now.phase()) {
            case RUNNING -> step(next.in(target).newTimer(), why, effects, STATE, STOP_SERVICES, TERMINATE);
            case STOPPING, RELOADING -> step(next.in(target), why, effects, STATE);
            default -> step(next, Why.UNCHANGED, effects);
        };
    }

    private static Step spawn(Lifecycle next, Why why, List<Effect> effects) {
        return step(next.in(Phase.STARTING), why, effects, STATE, SPAWN);
    }

    private static List<Effect> arrival(Lifecycle now) {
        return now.arrived() ? list() : list(ARRIVE);
    }

    private static Step stay(Lifecycle now, Effect... effects) {
        return new Step(now, Why.UNCHANGED, List.of(effects));
    }

    private static Step step(Lifecycle next, Why why, List<Effect> effects, Effect... more) {
        List<Effect> all = new ArrayList<>(effects);
        all.addAll(List.of(more));
        return new Step(next, why, all);
    }

    private static List<Effect> list(Effect... effects) {
        return new ArrayList<>(List.of(effects));
    }
}
