package dev.emperor.supervisor.state;

import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;

/**
 * Each vassal's history (table {@code events}), newest kept: the oldest events beyond the limit
 * go as new ones arrive. Events are records that a full state directory may drop (counted)
 * rather than keep without bound.
 */
public final class EventLog {
    /** Events kept per vassal; older ones are dropped as new ones arrive. */
    public static final int KEPT_PER_VASSAL = 1000;

    private final StateDatabase db;
    private final int kept;
    /** Told each vassal name that got an event (status-dir rewrites its file); must return at once. */
    private volatile Consumer<String> listener = name -> {};

    EventLog(StateDatabase db, int kept) {
        this.db = db;
        this.kept = kept;
    }

    /** Sets who is told each vassal name that got an event; it is told under the database's lock. */
    public void onRecorded(Consumer<String> listener) {
        this.listener = listener;
    }

    /** Appends to the vassal's history, dropping its oldest events beyond the limit. */
    public void record(String name, EventKind kind, String detail) {
        long at = System.currentTimeMillis();
        db.atomically(() -> {
            db.record("recording an event of " + name, true, c -> {
                Sql.update(c, "INSERT INTO events (name, at, kind, detail) VALUES (?, ?, ?, ?)",
                        name, at, kind.stored(), detail);
                // Cheap with the (name, id) index: one step back from the newest, then a range
                // delete that finds nothing (or one row) in the steady state.
                return Sql.update(c, """
                        DELETE FROM events WHERE name = ? AND id <= (
                            SELECT id FROM events WHERE name = ? ORDER BY id DESC LIMIT 1 OFFSET ?)""",
                        name, name, kept);
            });
            listener.accept(name);
            return null;
        });
    }

    /** The vassal's newest events, newest first. */
    public List<EventRow> newest(String name, int limit) {
        return db.read("reading events of " + name, c -> Sql.all(c,
                "SELECT id, name, at, kind, detail FROM events WHERE name = ? ORDER BY id DESC LIMIT ?",
                rs -> new EventRow(
                        rs.getLong("id"),
                        rs.getString("name"),
                        Instant.ofEpochMilli(rs.getLong("at")),
                        EventKind.fromStored(rs.getString("kind")),
                        rs.getString("detail")),
                name, limit));
    }
}
