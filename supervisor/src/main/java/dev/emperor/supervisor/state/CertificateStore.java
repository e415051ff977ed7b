package dev.emperor.supervisor.state;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * Where each tenant's stored certificate came from (table {@code certificate_origins}; renewal
 * replaces only ACME ones, no row counts as uploaded) and each tenant's ACME back-off after
 * failed issuances (table {@code acme_retries}), so a restarted emperor does not retry every
 * failing tenant at once: a CA counts failed validations per hour, not per emperor run.
 */
public final class CertificateStore {
    private final StateDatabase db;

    CertificateStore(StateDatabase db) {
        this.db = db;
    }

    /** The origin of the tenant's stored certificate, if recorded. */
    public Optional<CertificateOrigin> origin(String name) {
        return db.read("reading the certificate origin of " + name, c -> Sql.one(c,
                "SELECT origin FROM certificate_origins WHERE name = ?",
                rs -> CertificateOrigin.fromStored(rs.getString(1)), name));
    }

    /** Records where the tenant's certificate came from; null forgets it (certificate removed). */
    public void setOrigin(String name, CertificateOrigin origin) {
        String what = "storing the certificate origin of " + name;
        if (origin == null) { // forgetting: a record, written when the directory takes it
            db.record(what, false, c -> Sql.update(c, "DELETE FROM certificate_origins WHERE name = ?", name));
            return;
        }
        db.immediate(what, what, c -> Sql.update(c, "INSERT INTO certificate_origins (name, origin, recorded_at)"
                + " VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET origin = excluded.origin, recorded_at = excluded.recorded_at",
                name, origin.stored(), System.currentTimeMillis()));
    }

    /** Every tenant's recorded ACME back-off, by name. */
    public Map<String, AcmeRetry> acmeRetries() {
        return db.read("reading ACME back-offs", c -> Sql.map(c,
                "SELECT name, failures, not_before FROM acme_retries ORDER BY name",
                rs -> rs.getString(1), rs -> new AcmeRetry(rs.getInt(2), Instant.ofEpochMilli(rs.getLong(3)))));
    }

    /** Records the tenant's ACME back-off; null forgets it (issued, or the tenant removed). */
    public void setAcmeRetry(String name, AcmeRetry retry) {
        long now = System.currentTimeMillis();
        // A back-off is a record: lost only if the emperor dies before the directory takes it.
        db.record("storing the ACME back-off of " + name, false, c -> retry == null
                ? Sql.update(c, "DELETE FROM acme_retries WHERE name = ?", name)
                : Sql.update(c, "INSERT INTO acme_retries (name, failures, not_before, recorded_at) VALUES (?, ?, ?, ?)"
                        + " ON CONFLICT(name) DO UPDATE SET failures = excluded.failures,"
                        + " not_before = excluded.not_before, recorded_at = excluded.recorded_at",
                        name, retry.failures(), retry.notBefore().toEpochMilli(), now));
    }
}
