package dev.emperor.supervisor.state;

import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * Each tenant's tun0 address (table {@code addresses}). Like its uid, an address is never
 * deleted nor given to another tenant: peers may still hold it in caches, ACLs or DNS.
 */
public final class AddressLedger {
    private final StateDatabase db;

    AddressLedger(StateDatabase db) {
        this.db = db;
    }

    /** The IPv4 address (as an int) recorded for the tenant, if any. */
    public Optional<Integer> of(String name) {
        return db.read("reading the address of " + name,
                c -> Sql.one(c, "SELECT address FROM addresses WHERE name = ?", rs -> rs.getInt(1), name));
    }

    /** Records the tenant's address for good; fails if the tenant or the address already has a row. */
    public void record(String name, int address) {
        db.durable("recording the address of " + name, c -> Sql.update(c,
                "INSERT INTO addresses (name, address, allocated_at) VALUES (?, ?, ?)",
                name, address, System.currentTimeMillis()));
    }

    /** Every address ever recorded. */
    public Set<Integer> all() {
        return db.read("reading addresses",
                c -> new HashSet<>(Sql.all(c, "SELECT address FROM addresses", rs -> rs.getInt(1))));
    }
}
