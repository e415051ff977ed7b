package dev.emperor.supervisor.lifecycle;

/**
 * The whole lifecycle state of one vassal, as one value: the phase and the few facts the
 * transition table consults (as s6-supervise's actions consult its want flags). Nothing that
 * decides what happens next lives anywhere else; {@link Transition#next} is the only way it changes.
 *
 * @param phase      where the vassal is (finer than the {@link VassalState} shown in status)
 * @param wanted     the operator wants it running (`emperor start`/`stop`, kept in the store)
 * @param valid      a valid vassal file has been read (the last good one is kept while a payload runs)
 * @param arrived    its first file event has said which tenant the name is (new, restored or known)
 * @param waitingForStateDirectory its last spawn failed because the state directory refused writes
 * @param timer      the generation of its one timer (grace period or back-off): a timer that fires
 *                   with another generation was cancelled or replaced, and is dropped
 */
public record Lifecycle(Phase phase, boolean wanted, boolean valid, boolean arrived,
        boolean waitingForStateDirectory, long timer) {

    /** Where a vassal is. Phases with a payload: RUNNING and the four on their way down. */
    public enum Phase {
        /** Nothing runs, on purpose (stopped by the operator, or not started yet). */
        STOPPED(VassalState.STOPPED),
        /** No valid file: nothing runs until it is fixed. */
        FAILED(VassalState.FAILED),
        /** The jail is being set up and the payload exec'd; its result is the next event. */
        STARTING(VassalState.STARTING),
        /** The payload runs. */
        RUNNING(VassalState.RUNNING),
        /** No payload; a respawn is timed. */
        BACKING_OFF(VassalState.BACKING_OFF),
        /** SIGTERM sent; once the payload exits the vassal stays stopped. */
        STOPPING(VassalState.STOPPING),
        /** SIGTERM sent; once the payload exits a new one is spawned. */
        RELOADING(VassalState.RELOADING),
        /** The file was deleted; once the payload exits the tenant is cleaned up, retired and forgotten. */
        REMOVING(VassalState.STOPPING),
        /** The emperor is exiting; once the payload exits the vassal is forgotten (it returns on the next start). */
        SHUTTING_DOWN(VassalState.STOPPING),
        /** Forgotten by the emperor: no event does anything any more. */
        GONE(VassalState.STOPPED);

        private final VassalState shown;

        Phase(VassalState shown) {
            this.shown = shown;
        }

        /** The state `emperor status` shows for this phase. */
        public VassalState shown() {
            return shown;
        }

        /** A payload of this vassal is alive (or its exit is not handled yet). */
        public boolean hasPayload() {
            return this == RUNNING || goingDown();
        }

        /** SIGTERM has been sent to the payload. */
        public boolean goingDown() {
            return this == STOPPING || this == RELOADING || this == REMOVING || this == SHUTTING_DOWN;
        }

        /** The file is gone or the emperor is exiting: the vassal is on its way out for good. */
        public boolean leaving() {
            return this == REMOVING || this == SHUTTING_DOWN || this == GONE;
        }

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /** A vassal just made: stopped, nothing read yet. */
    public static Lifecycle initial(boolean wanted) {
        return new Lifecycle(Phase.STOPPED, wanted, false, false, false, 0);
    }

    Lifecycle in(Phase next) {
        return new Lifecycle(next, wanted, valid, arrived, waitingForStateDirectory, timer);
    }

    Lifecycle wanted(boolean want) {
        return new Lifecycle(phase, want, valid, arrived, waitingForStateDirectory, timer);
    }

    Lifecycle valid(boolean isValid) {
        return new Lifecycle(phase, wanted, isValid, arrived, waitingForStateDirectory, timer);
    }

    Lifecycle afterArrival() {
        return new Lifecycle(phase, wanted, valid, true, waitingForStateDirectory, timer);
    }

    Lifecycle waitingForStateDirectory(boolean waiting) {
        return new Lifecycle(phase, wanted, valid, arrived, waiting, timer);
    }

    /** Its timer is cancelled or replaced: whatever the old one posts is stale. */
    Lifecycle newTimer() {
        return new Lifecycle(phase, wanted, valid, arrived, waitingForStateDirectory, timer + 1);
    }
}
