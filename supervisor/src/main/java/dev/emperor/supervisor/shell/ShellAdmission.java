package dev.emperor.supervisor.shell;

import java.util.HashMap;
import java.util.Map;

/**
 * Who may open one more connection on the shell socket, counted per peer uid (the kernel's
 * SO_PEERCRED, as everything on that socket). Any local user can connect, so without a bound
 * per uid one of them could hold every session slot with idle connections and lock root and
 * every tenant out. A connection is <em>pending</em> from accept until its first frame is a
 * valid, authorised request (then it is a session), and pending ones time out
 * ({@link ShellSession#PENDING_TIMEOUT_MILLIS}). Root is never counted nor refused: the
 * operator always gets in.
 */
final class ShellAdmission {
    /** Connections of one uid that have not yet sent a valid request. */
    static final int PENDING_PER_UID = 8;
    /** Connections of one uid in all, pending or running a process. */
    static final int CONNECTIONS_PER_UID = 32;
    /** Non-root connections in all (each holds a thread and a few fds of the emperor). */
    static final int CONNECTIONS_NON_ROOT = 512;

    private final Map<Integer, int[]> byUid = new HashMap<>(); // uid -> {pending, all}
    private int nonRoot;

    /** One admitted connection; {@link #started} once, {@link #close} always. */
    final class Ticket implements AutoCloseable {
        private final int uid;
        private boolean pending = true;
        private boolean closed;

        private Ticket(int uid) {
            this.uid = uid;
        }

        /** Its first frame was a valid request: it no longer counts as pending. */
        void started() {
            synchronized (ShellAdmission.this) {
                if (!pending || closed) return;
                pending = false;
                if (uid != 0) byUid.get(uid)[0]--;
            }
        }

        @Override
        public void close() {
            synchronized (ShellAdmission.this) {
                if (closed) return;
                closed = true;
                if (uid == 0) return;
                int[] counts = byUid.get(uid);
                if (pending) counts[0]--;
                counts[1]--;
                nonRoot--;
                if (counts[1] == 0) byUid.remove(uid);
            }
        }
    }

    /** A refusal: the message says which bound was reached, for the client's error line. */
    static final class Refused extends Exception {
        Refused(String message) {
            super(message);
        }
    }

    synchronized Ticket admit(int uid) throws Refused {
        if (uid == 0) return new Ticket(0);
        int[] counts = byUid.getOrDefault(uid, new int[2]);
        if (counts[0] >= PENDING_PER_UID) {
            throw new Refused("too many shell connections from uid " + uid + " that have not started (at most "
                    + PENDING_PER_UID + "); try again later");
        }
        if (counts[1] >= CONNECTIONS_PER_UID) {
            throw new Refused("too many shell sessions for uid " + uid + " (at most " + CONNECTIONS_PER_UID
                    + "); try again later");
        }
        if (nonRoot >= CONNECTIONS_NON_ROOT) throw new Refused("too many shell sessions; try again later");
        counts[0]++;
        counts[1]++;
        nonRoot++;
        byUid.put(uid, counts);
        return new Ticket(uid);
    }
}
