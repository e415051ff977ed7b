package dev.emperor.supervisor.state;

import dev.emperor.proxy.l4.PortAssignment;
import dev.emperor.proxy.l4.PortLedger;
import dev.emperor.proxy.l4.ServiceProtocol;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;

/**
 * The proxy's port ledger kept in the state database (table {@code ports}). Rows are never
 * deleted and a public port is UNIQUE: a port once given is never given to another (tenant,
 * service), even by a bug; a service no longer declared keeps its port as released.
 */
public final class SqlitePortLedger implements PortLedger {
    private final StateDatabase db;

    SqlitePortLedger(StateDatabase db) {
        this.db = db;
    }

    /** Every port assignment ever recorded, by port. */
    @Override
    public List<PortAssignment> loadAll() {
        return db.read("reading ports", c -> Sql.all(c, "SELECT * FROM ports ORDER BY public_port", SqlitePortLedger::row));
    }

    /** The tenant's port assignments, released ones included, by service name (for status). */
    public List<PortAssignment> ofTenant(String tenant) {
        return db.read("reading ports",
                c -> Sql.all(c, "SELECT * FROM ports WHERE tenant = ? ORDER BY service", SqlitePortLedger::row, tenant));
    }

    /** Records a new assignment (durably); fails if the port or the (tenant, service) already has a row. */
    @Override
    public void record(PortAssignment a) {
        db.durable("recording port " + a.publicPort() + " of " + a.tenant(), c -> {
            long now = System.currentTimeMillis();
            return Sql.update(c, "INSERT INTO ports (tenant, service, proto, public_port, assigned_at, released_at)"
                            + " VALUES (?, ?, ?, ?, ?, ?)",
                    a.tenant(), a.service(), a.protocol().stored(), a.publicPort(), now, a.released() ? now : null);
        });
    }

    /** Stores a changed protocol or released state; the port itself can never change. */
    @Override
    public void update(PortAssignment a) {
        long now = System.currentTimeMillis();
        db.record("updating port " + a.publicPort() + " of " + a.tenant(), false, c -> {
            int changed = Sql.update(c, """
                    UPDATE ports SET proto = ?,
                        released_at = CASE WHEN ? THEN coalesce(released_at, ?) ELSE NULL END
                    WHERE tenant = ? AND service = ? AND public_port = ?""",
                    a.protocol().stored(), a.released() ? 1 : 0, now, a.tenant(), a.service(), a.publicPort());
            if (changed != 1) {
                throw new StateException("state database: no port " + a.publicPort() + " recorded for "
                        + a.tenant() + "/" + a.service());
            }
            return null;
        });
    }

    private static PortAssignment row(ResultSet rs) throws SQLException {
        String proto = rs.getString("proto");
        return new PortAssignment(rs.getString("tenant"), rs.getString("service"),
                ServiceProtocol.fromStored(proto).orElseThrow(
                        () -> new StateException("state database: unknown port protocol " + proto)),
                rs.getInt("public_port"), rs.getObject("released_at") != null);
    }
}
