package dev.emperor.supervisor.state;

import java.util.Optional;

/**
 * `emperor maintenance NAME on|off` (table {@code maintenance}): the operator's word, kept
 * across restarts; it overrides the vassal file's `maintenance` until the vassal is removed.
 */
public final class MaintenanceStore {
    private final StateDatabase db;

    MaintenanceStore(StateDatabase db) {
        this.db = db;
    }

    /** The operator's maintenance setting for the tenant, if any (else its file decides). */
    public Optional<Boolean> of(String name) {
        return db.read("reading the maintenance setting of " + name,
                c -> Sql.one(c, "SELECT enabled FROM maintenance WHERE name = ?", rs -> rs.getInt(1) == 1, name));
    }

    /** Records the operator's maintenance setting; null forgets it (the file decides again). */
    public void set(String name, Boolean enabled) {
        String what = "storing the maintenance setting of " + name;
        if (enabled == null) { // forgetting (the tenant is gone): a record, written when the directory takes it
            db.record(what, false, c -> Sql.update(c, "DELETE FROM maintenance WHERE name = ?", name));
            return;
        }
        // the operator's word: refused, not kept, while it cannot be written
        db.immediate(what, what, c -> Sql.update(c, "INSERT INTO maintenance (name, enabled, set_at) VALUES (?, ?, ?)"
                + " ON CONFLICT(name) DO UPDATE SET enabled = excluded.enabled, set_at = excluded.set_at",
                name, enabled ? 1 : 0, System.currentTimeMillis()));
    }
}
