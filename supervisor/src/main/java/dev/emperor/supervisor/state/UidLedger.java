package dev.emperor.supervisor.state;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/**
 * Which tenant has which uid (table {@code uids}). A uid, once given to a tenant, belongs to
 * that tenant forever (files it created may survive anywhere): rows are never deleted, and a
 * tenant whose file switches to another explicit uid keeps the old one as retired. New uids are
 * durable writes: handing one out twice after a crash would give one tenant another's files.
 */
public final class UidLedger {
    private final StateDatabase db;

    UidLedger(StateDatabase db) {
        this.db = db;
    }

    /**
     * Returns the tenant's current uid, or gives it the lowest uid in [min, max] that no
     * tenant has ever had. A tenant keeps its uid even if the range later changes.
     *
     * @throws IllegalStateException when every uid in the range is taken
     */
    public int allocate(String name, int min, int max) {
        if (min <= 0 || min > max) {
            throw new IllegalArgumentException("bad uid range " + min + "-" + max + " (must be 1 or more, min <= max)");
        }
        Integer known = db.read("reading the uid of " + name, c -> current(c, name));
        if (known != null) return known; // a known tenant never waits for the disk
        return db.durable("allocating a uid for " + name, c -> {
            Integer existing = current(c, name);
            if (existing != null) {
                return existing;
            }
            long candidate = min;
            try (PreparedStatement ps = c.prepareStatement("SELECT uid FROM uids WHERE uid BETWEEN ? AND ? ORDER BY uid")) {
                ps.setInt(1, min);
                ps.setInt(2, max);
                try (ResultSet rs = ps.executeQuery()) {
                    // Walk the taken uids in order; the first gap is the lowest free uid.
                    while (rs.next() && rs.getLong(1) == candidate) {
                        candidate++;
                    }
                }
            }
            if (candidate > max) {
                throw new IllegalStateException("uid range " + min + "-" + max + " exhausted");
            }
            insertCurrent(c, name, (int) candidate);
            return (int) candidate;
        });
    }

    /**
     * Gives the tenant the uid its vassal file names explicitly. If the tenant had another uid
     * before, that one stays reserved for it (retired), never handed to anyone else.
     *
     * @throws IllegalStateException if another tenant has (or had) this uid
     */
    public void claim(String name, int uid) {
        if (uid <= 0) {
            throw new IllegalArgumentException("uid " + uid + " cannot be given to a tenant");
        }
        Integer known = db.read("reading the uid of " + name, c -> current(c, name));
        if (known != null && known == uid) return;
        db.durable("giving uid " + uid + " to " + name, c -> {
            String owner = owner(c, uid);
            if (owner != null && !owner.equals(name)) {
                throw new IllegalStateException("uid " + uid + " already belongs to tenant " + owner);
            }
            Integer current = current(c, name);
            if (current != null && current == uid) {
                return null;
            }
            Sql.update(c, "UPDATE uids SET current = 0 WHERE name = ?", name);
            if (owner == null) {
                insertCurrent(c, name, uid);
            } else {
                // The tenant goes back to a uid it had before.
                Sql.update(c, "UPDATE uids SET current = 1 WHERE uid = ?", uid);
            }
            return null;
        });
    }

    /** The uid the tenant uses now, if it was ever given one (never allocates). */
    public Optional<Integer> of(String name) {
        return Optional.ofNullable(db.read("reading the uid of " + name, c -> current(c, name)));
    }

    /** The tenant that has (or once had) this uid. */
    public Optional<String> owner(int uid) {
        return Optional.ofNullable(db.read("looking up uid " + uid, c -> owner(c, uid)));
    }

    private static String owner(Connection c, int uid) throws SQLException {
        return Sql.one(c, "SELECT name FROM uids WHERE uid = ?", rs -> rs.getString(1), uid).orElse(null);
    }

    private static Integer current(Connection c, String name) throws SQLException {
        return Sql.one(c, "SELECT uid FROM uids WHERE name = ? AND current = 1", rs -> rs.getInt(1), name).orElse(null);
    }

    private static void insertCurrent(Connection c, String name, int uid) throws SQLException {
        Sql.update(c, "INSERT INTO uids (uid, name, current, allocated_at) VALUES (?, ?, 1, ?)",
                uid, name, System.currentTimeMillis());
    }
}
