package dev.emperor.supervisor.state;

import java.util.Map;

/**
 * A tenant's attached daemons, like its pid 1, by pid and start time (table {@code daemons}):
 * an emperor restarted with on-exit = leave re-adopts them instead of starting a second copy.
 * Writes are records: a full state directory delays them.
 */
public final class DaemonStore {
    private final StateDatabase db;

    DaemonStore(StateDatabase db) {
        this.db = db;
    }

    /** Records a tenant's running daemon (replacing an earlier record under the same key). */
    public void record(String name, String key, int pid, long pidStartTime) {
        db.record("recording daemon " + key + " of " + name, false, c -> Sql.update(c,
                "INSERT OR REPLACE INTO daemons (name, key, pid, pid_start_time) VALUES (?, ?, ?, ?)",
                name, key, pid, pidStartTime));
    }

    /** Forgets one daemon record; {@code key} null forgets all of the tenant's. */
    public void forget(String name, String key) {
        db.record("forgetting daemons of " + name, false, c -> key == null
                ? Sql.update(c, "DELETE FROM daemons WHERE name = ?", name)
                : Sql.update(c, "DELETE FROM daemons WHERE name = ? AND key = ?", name, key));
    }

    /** The tenant's recorded daemons by key, in key order. */
    public Map<String, RecordedDaemon> of(String name) {
        return db.read("reading daemons of " + name, c -> Sql.map(c,
                "SELECT key, pid, pid_start_time FROM daemons WHERE name = ? ORDER BY key",
                rs -> rs.getString(1), rs -> new RecordedDaemon(rs.getInt(2), rs.getLong(3)), name));
    }
}
