package dev.emperor.supervisor.state;

import dev.emperor.proxy.TenantTraffic;
import java.sql.PreparedStatement;
import java.util.Map;
import java.util.Optional;

/**
 * Each tenant's traffic for good, which hosts bill from: its network totals (table {@code
 * traffic}, so status never shows them go back, not at an emperor restart nor when its tun0 is
 * attached again) and its front-proxy totals (table {@code web_traffic}, TenantTraffic). A stored
 * count only grows (MAX), whatever order or from whatever run writes come, and stays when the
 * tenant is removed (a tenant of the same name carries on from it).
 */
public final class TrafficStore {
    private final StateDatabase db;

    TrafficStore(StateDatabase db) {
        this.db = db;
    }

    /** The tenant's recorded network totals, if any were ever recorded. */
    public Optional<TrafficTotals> network(String name) {
        return db.read("reading the network totals of " + name, c -> Sql.one(c,
                "SELECT packets_in, packets_out, bytes_in, bytes_out FROM traffic WHERE name = ?",
                rs -> new TrafficTotals(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4)), name));
    }

    /** Records the tenant's network totals; a counter never goes below what is already recorded. */
    public void recordNetwork(String name, TrafficTotals totals) {
        db.transaction("writing", c -> Sql.update(c, """
                INSERT INTO traffic (name, packets_in, packets_out, bytes_in, bytes_out, updated_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET
                    packets_in = max(packets_in, excluded.packets_in),
                    packets_out = max(packets_out, excluded.packets_out),
                    bytes_in = max(bytes_in, excluded.bytes_in),
                    bytes_out = max(bytes_out, excluded.bytes_out),
                    updated_at = excluded.updated_at""",
                name, totals.packetsIn(), totals.packetsOut(), totals.bytesIn(), totals.bytesOut(),
                System.currentTimeMillis()));
    }

    /** Every tenant's stored web and public-port totals, by name. */
    public Map<String, TenantTraffic.Totals> web() {
        return db.read("reading web traffic", c -> Sql.map(c, "SELECT name, requests, web_bytes_in, web_bytes_out,"
                + " port_connections, port_bytes_in, port_bytes_out FROM web_traffic ORDER BY name",
                rs -> rs.getString(1), rs -> new TenantTraffic.Totals(rs.getLong(2), rs.getLong(3), rs.getLong(4),
                        rs.getLong(5), rs.getLong(6), rs.getLong(7))));
    }

    /** Stores these web and public-port totals in one transaction; a stored count is never lowered. */
    public void recordWeb(Map<String, TenantTraffic.Totals> totals) {
        if (totals.isEmpty()) return;
        long now = System.currentTimeMillis();
        db.transaction("writing", c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO web_traffic (name, requests, web_bytes_in,"
                    + " web_bytes_out, port_connections, port_bytes_in, port_bytes_out, updated_at)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET"
                    + " requests = MAX(requests, excluded.requests),"
                    + " web_bytes_in = MAX(web_bytes_in, excluded.web_bytes_in),"
                    + " web_bytes_out = MAX(web_bytes_out, excluded.web_bytes_out),"
                    + " port_connections = MAX(port_connections, excluded.port_connections),"
                    + " port_bytes_in = MAX(port_bytes_in, excluded.port_bytes_in),"
                    + " port_bytes_out = MAX(port_bytes_out, excluded.port_bytes_out),"
                    + " updated_at = excluded.updated_at")) {
                for (var e : totals.entrySet()) {
                    TenantTraffic.Totals t = e.getValue();
                    ps.setString(1, e.getKey());
                    ps.setLong(2, t.requests());
                    ps.setLong(3, t.webBytesIn());
                    ps.setLong(4, t.webBytesOut());
                    ps.setLong(5, t.portConnections());
                    ps.setLong(6, t.portBytesIn());
                    ps.setLong(7, t.portBytesOut());
                    ps.setLong(8, now);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            return null;
        });
    }
}
