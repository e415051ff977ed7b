package dev.emperor.supervisor.state;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * One row per vassal (table {@code vassals}): whether the operator wants it running, its
 * running process (pid and start time, to recognise it after an emperor restart), the config
 * it runs, its credentials, restarts, last exit and last error. Every write is a record (see
 * {@link StateDatabase#record}): a full state directory delays it, never the vassal.
 */
public final class VassalStore {
    private final StateDatabase db;

    VassalStore(StateDatabase db) {
        this.db = db;
    }

    public Optional<VassalRow> get(String name) {
        return db.read("reading vassal " + name,
                c -> Sql.one(c, "SELECT * FROM vassals WHERE name = ?", VassalStore::row, name));
    }

    /** All vassals, ordered by name. */
    public List<VassalRow> all() {
        return db.read("listing vassals", c -> Sql.all(c, "SELECT * FROM vassals ORDER BY name", VassalStore::row));
    }

    /** Records whether the operator wants the vassal running; creates its row if needed. */
    public void setDesired(String name, Desired desired) {
        update(name, "desired = ?", desired.stored());
    }

    /**
     * Records a freshly spawned jail: its pid 1 and that process's start time (to recognise it
     * again after an emperor restart), the config it was started from and its credentials.
     * Clears last_error.
     */
    public void recordSpawn(String name, int pid, long pidStartTime, String configHash, int uid, int gid) {
        if (pid <= 0) {
            throw new IllegalArgumentException("pid must be positive: " + pid);
        }
        update(name, "pid = ?, pid_start_time = ?, config_hash = ?, uid = ?, gid = ?, started_at = ?, last_error = NULL",
                pid, pidStartTime, configHash, uid, gid, System.currentTimeMillis());
    }

    /** The running tenant now runs this file's configuration (it was applied without a restart). */
    public void recordConfigHash(String name, String configHash) {
        update(name, "config_hash = ?", configHash);
    }

    /**
     * Records that the vassal's process ended: forgets its pid, keeps how it ended and, when
     * the exit was not asked for, counts a restart.
     */
    public void recordExit(String name, String lastExit, boolean countsAsRestart) {
        update(name, "pid = 0, pid_start_time = 0, last_exit = ?, restarts = restarts + ?",
                lastExit, countsAsRestart ? 1 : 0);
    }

    /** Records the vassal's current problem; {@code null} clears it. */
    public void recordError(String name, String error) {
        update(name, "last_error = ?", error);
    }

    private void update(String name, String assignments, Object... values) {
        long now = System.currentTimeMillis();
        Object[] all = new Object[values.length + 2];
        System.arraycopy(values, 0, all, 0, values.length);
        all[values.length] = now;
        all[values.length + 1] = name;
        db.record("recording " + assignments.replaceAll(" = \\?", "") + " of " + name, false, c -> {
            Sql.update(c, "INSERT INTO vassals (name, updated_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                    name, now);
            return Sql.update(c, "UPDATE vassals SET " + assignments + ", updated_at = ? WHERE name = ?", all);
        });
    }

    private static VassalRow row(ResultSet rs) throws SQLException {
        return new VassalRow(
                rs.getString("name"),
                rs.getInt("uid"),
                rs.getInt("gid"),
                rs.getString("config_hash"),
                Desired.fromStored(rs.getString("desired")),
                rs.getInt("pid"),
                rs.getLong("pid_start_time"),
                Sql.instantOrNull(rs, "started_at"),
                rs.getInt("restarts"),
                rs.getString("last_exit"),
                rs.getString("last_error"),
                Instant.ofEpochMilli(rs.getLong("updated_at")));
    }
}
