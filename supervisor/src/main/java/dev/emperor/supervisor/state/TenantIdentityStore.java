package dev.emperor.supervisor.state;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A tenant's identity across the removal of its file (table {@code retired}, see
 * TenantIdentity): a removed vassal is retired, and its uid, address, ports, domains, home and
 * disk image stay its own (the same name coming back is the same tenant) until {@code emperor
 * purge} or the end of {@code retain}. Purging keeps what must never be handed out again under
 * a tombstone and frees the name.
 */
public final class TenantIdentityStore {
    /** Which tenant a vassal file of this name is, decided by {@link #arrive}. */
    public enum Arrival {
        /** A tenant the emperor already runs (or ran, and its file never went away). */
        KNOWN,
        /** A retired tenant within retention: the same tenant, with its uid, address, ports, domains and data. */
        RESTORED,
        /** A name with nothing recorded (never seen, or purged): it gets a fresh identity. */
        NEW
    }

    private final StateDatabase db;

    TenantIdentityStore(StateDatabase db) {
        this.db = db;
    }

    /**
     * The vassal's file was removed and it has stopped: its vassal row goes, and it is retired
     * as of {@code at} unless it is retired already (an earlier time is kept: removing a file
     * again never extends a reservation). Returns whether it was newly retired.
     */
    public boolean retire(String name, Instant at) {
        return db.atomically(() -> {
            boolean fresh = retiredAt(name).isEmpty();
            // A record of what happened (the file is gone, the tenant has stopped): written now,
            // or kept until a full state directory takes writes again.
            db.record("retiring " + name, false, c -> {
                Sql.update(c, "DELETE FROM vassals WHERE name = ?", name);
                return Sql.update(c, "INSERT OR IGNORE INTO retired (name, retired_at) VALUES (?, ?)",
                        name, at.toEpochMilli());
            });
            return fresh;
        });
    }

    /** When the tenant was retired, if it is. */
    public Optional<Instant> retiredAt(String name) {
        return db.read("reading the retirement of " + name, c -> Sql.one(c,
                "SELECT retired_at FROM retired WHERE name = ?", rs -> Instant.ofEpochMilli(rs.getLong(1)), name));
    }

    /** Every retired tenant and when it was retired, oldest first. */
    public Map<String, Instant> retired() {
        return db.read("reading retired tenants", c -> Sql.map(c,
                "SELECT name, retired_at FROM retired ORDER BY retired_at, name",
                rs -> rs.getString(1), rs -> Instant.ofEpochMilli(rs.getLong(2))));
    }

    /**
     * A vassal file of this name is there: a retired tenant of the name is retired no more
     * (it is the same tenant coming back), in the same transaction that says so.
     */
    public Arrival arrive(String name) {
        return db.atomically(() -> {
            if (retiredAt(name).isPresent()) {
                // a record: a full state directory delays it, and until then the name reads as
                // retired (the same answer when the file is read again)
                db.record("restoring " + name, false, c -> Sql.update(c, "DELETE FROM retired WHERE name = ?", name));
                return Arrival.RESTORED;
            }
            boolean known = db.read("reading what is known of " + name, c -> Sql.one(c, """
                    SELECT EXISTS (SELECT 1 FROM vassals WHERE name = ?1) OR EXISTS (SELECT 1 FROM uids WHERE name = ?1)
                        OR EXISTS (SELECT 1 FROM addresses WHERE name = ?1)""", rs -> rs.getBoolean(1), name)
                    .orElseThrow());
            return known ? Arrival.KNOWN : Arrival.NEW;
        });
    }

    /**
     * Ends a retired tenant's identity, all or nothing: its uids, address and ports are kept
     * under {@code tombstone} (a label no tenant can be named, so they are never handed to
     * anyone again: files, peers' caches and clients may still point at them), its domains,
     * approvals and per-tenant records are deleted, and the name is free. Its events stay.
     *
     * @return false (and nothing changed) if the tenant is not retired
     */
    public boolean purge(String name, String tombstone) {
        return db.durable("purging " + name, c -> {
            if (Sql.update(c, "DELETE FROM retired WHERE name = ?", name) != 1) return false;
            long now = System.currentTimeMillis();
            for (String sql : List.of(
                    "UPDATE uids SET name = ?2, current = 0 WHERE name = ?1",
                    "UPDATE addresses SET name = ?2 WHERE name = ?1",
                    "UPDATE ports SET tenant = ?2, released_at = coalesce(released_at, ?3) WHERE tenant = ?1",
                    // what the customer who left used, kept for the bill; the name starts from zero
                    "UPDATE traffic SET name = ?2 WHERE name = ?1",
                    "UPDATE web_traffic SET name = ?2 WHERE name = ?1",
                    "DELETE FROM domains WHERE owner = ?1",
                    "DELETE FROM domain_approvals WHERE tenant = ?1",
                    "DELETE FROM vassals WHERE name = ?1",
                    "DELETE FROM daemons WHERE name = ?1",
                    "DELETE FROM maintenance WHERE name = ?1",
                    "DELETE FROM certificate_origins WHERE name = ?1",
                    "DELETE FROM acme_retries WHERE name = ?1")) {
                if (sql.contains("?3")) Sql.update(c, sql, name, tombstone, now);
                else if (sql.contains("?2")) Sql.update(c, sql, name, tombstone);
                else Sql.update(c, sql, name);
            }
            return true;
        });
    }
}
