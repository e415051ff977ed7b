package dev.emperor.supervisor.state;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The few JDBC shapes the stores use: one statement with positional values, one row, all rows. */
final class Sql {
    private Sql() {}

    /** Maps the current row of a result to a value. */
    interface Row<T> {
        T map(ResultSet rs) throws SQLException;
    }

    /** Runs an INSERT/UPDATE/DELETE; returns how many rows it changed. */
    static int update(Connection c, String sql, Object... values) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, values)) {
            return ps.executeUpdate();
        }
    }

    /** The first row of a query, if there is one. */
    static <T> Optional<T> one(Connection c, String sql, Row<T> row, Object... values) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, values); ResultSet rs = ps.executeQuery()) {
            return rs.next() ? Optional.of(row.map(rs)) : Optional.empty();
        }
    }

    /** Every row of a query, in its order. */
    static <T> List<T> all(Connection c, String sql, Row<T> row, Object... values) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, values); ResultSet rs = ps.executeQuery()) {
            List<T> rows = new ArrayList<>();
            while (rs.next()) rows.add(row.map(rs));
            return rows;
        }
    }

    /** A query's rows as a map from {@code key} to {@code value}, in the query's order. */
    static <K, V> Map<K, V> map(Connection c, String sql, Row<K> key, Row<V> value, Object... values)
            throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, values); ResultSet rs = ps.executeQuery()) {
            Map<K, V> rows = new LinkedHashMap<>();
            while (rs.next()) rows.put(key.map(rs), value.map(rs));
            return rows;
        }
    }

    /** A column of epoch milliseconds as an Instant; null for SQL NULL. */
    static Instant instantOrNull(ResultSet rs, String column) throws SQLException {
        long millis = rs.getLong(column);
        return rs.wasNull() ? null : Instant.ofEpochMilli(millis);
    }

    private static PreparedStatement prepare(Connection c, String sql, Object... values) throws SQLException {
        PreparedStatement ps = c.prepareStatement(sql);
        try {
            for (int i = 0; i < values.length; i++) ps.setObject(i + 1, values[i]);
            return ps;
        } catch (SQLException | RuntimeException e) {
            ps.close();
            throw e;
        }
    }
}
