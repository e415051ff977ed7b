package dev.emperor.supervisor.state;

import java.nio.file.Path;
import java.sql.SQLException;

/**
 * The state directory refuses writes: full, failing or read-only. Unlike other {@link
 * StateException}s this passes once the operator frees space, so callers retry instead of
 * giving up, and the message says what is wrong with which directory, not SQLite's words alone.
 */
public final class StateNotWritable extends StateException {
    /** What SQLite reported, in the operator's words. */
    public enum Cause {
        FULL("state directory full"),
        IO_ERROR("state directory cannot be written (I/O error)"),
        READ_ONLY("state directory is read-only");

        private final String words;

        Cause(String words) {
            this.words = words;
        }
    }

    // SQLite's primary result codes (sqlite3.h); extended codes carry them in the low byte.
    private static final int SQLITE_READONLY = 8;
    private static final int SQLITE_IOERR = 10;
    private static final int SQLITE_FULL = 13;

    private final Cause cause;
    private final String detail;

    StateNotWritable(Cause cause, Path dir, String detail, Throwable origin) {
        super(cause.words + " (" + dir + "): " + detail, origin);
        this.cause = cause;
        this.detail = detail;
    }

    public Cause cause() {
        return cause;
    }

    /** The failure without the directory's words (what failed and SQLite's message). */
    public String detail() {
        return detail;
    }

    /**
     * The disk condition behind a failed statement, if it is one: the error itself, its causes or
     * suppressed errors (a failed rollback after a failed commit), else null.
     */
    static Cause causeOf(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql) {
                Cause found = switch (sql.getErrorCode() & 0xff) {
                    case SQLITE_FULL -> Cause.FULL;
                    case SQLITE_IOERR -> Cause.IO_ERROR;
                    case SQLITE_READONLY -> Cause.READ_ONLY;
                    default -> null;
                };
                if (found != null) return found;
                // sqlite-jdbc's message names the code even where getErrorCode() does not carry it
                String message = String.valueOf(sql.getMessage());
                if (message.contains("SQLITE_FULL")) return Cause.FULL;
                if (message.contains("SQLITE_IOERR")) return Cause.IO_ERROR;
                if (message.contains("SQLITE_READONLY")) return Cause.READ_ONLY;
            }
            for (Throwable suppressed : t.getSuppressed()) {
                Cause found = causeOf(suppressed);
                if (found != null) return found;
            }
        }
        return null;
    }
}
