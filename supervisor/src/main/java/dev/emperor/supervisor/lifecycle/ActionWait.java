package dev.emperor.supervisor.lifecycle;

import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * `emperor start|stop|reload NAME --wait`: waits until the operator's action has had its
 * effect, or has failed. The wait starts only once the vassal's mailbox has handled the
 * action, so the state it reads is never one from before the action.
 */
public final class ActionWait {
    /** What the action is for. */
    public enum Goal {
        /** start: the payload runs. */
        RUNNING,
        /** stop: nothing runs. */
        STOPPED,
        /** reload: a payload other than the one running before runs. */
        RESTARTED
    }

    /** How the wait ended: reached, or why not. */
    public record Outcome(boolean reached, String detail) {}

    private static final Duration POLL = Duration.ofMillis(100);

    private ActionWait() {}

    /**
     * @param pidBefore the payload's pid before the action (for {@link Goal#RESTARTED}), 0 if none
     */
    public static Outcome await(Vassal vassal, Goal goal, int pidBefore, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            vassal.afterQueuedEvents().get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException | TimeoutException e) {
            return new Outcome(false, "the tenant's events did not drain within " + timeout.toSeconds() + "s");
        }
        while (true) {
            Vassal.Progress status = vassal.progress();
            String verdict = verdict(goal, pidBefore, status);
            if (verdict != null) {
                return new Outcome(verdict.isEmpty(), verdict.isEmpty() ? describe(status) : verdict);
            }
            if (System.nanoTime() >= deadline) {
                return new Outcome(false, "still " + describe(status) + " after " + timeout.toSeconds() + "s");
            }
            Thread.sleep(POLL.toMillis());
        }
    }

    /** "" when the goal is reached, a reason when it cannot be, null while it may still be. */
    static String verdict(Goal goal, int pidBefore, Vassal.Progress s) {
        String state = s.state();
        boolean running = state.equals(VassalState.RUNNING.label()) && s.pid() > 0;
        boolean down = s.pid() == 0 && (state.equals(VassalState.STOPPED.label()) || state.equals(VassalState.FAILED.label()));
        return switch (goal) {
            case STOPPED -> down ? "" : null;
            case RUNNING, RESTARTED -> {
                if (running && (goal == Goal.RUNNING || s.pid() != pidBefore)) yield "";
                if (state.equals(VassalState.FAILED.label()) || state.equals(VassalState.BACKING_OFF.label())
                        || state.equals(VassalState.STOPPED.label())) {
                    yield state + ": " + (s.lastError() != null && !s.lastError().isEmpty() ? s.lastError() : s.reason());
                }
                yield null;
            }
        };
    }

    private static String describe(Vassal.Progress s) {
        return s.state() + (s.pid() > 0 ? " (pid " + s.pid() + ")" : "");
    }
}
