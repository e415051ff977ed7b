package dev.emperor.supervisor.state;

import java.sql.PreparedStatement;
import java.time.Instant;
import java.util.Collection;
import java.util.List;

/**
 * Who holds each domain (table {@code domains}): the first tenant to claim it, whatever order
 * files are read in after a restart, until its file drops the name, the file is removed, or the
 * operator transfers it; and the operator's approvals to claim a name outside domain-allow
 * (table {@code domain_approvals}). Names come normalized; the rules are DomainOwnership's.
 */
public final class DomainStore {
    private final StateDatabase db;

    DomainStore(StateDatabase db) {
        this.db = db;
    }

    /** Every held domain, oldest claim first. */
    public List<DomainClaim> claims() {
        return db.read("reading domain claims", c -> Sql.all(c,
                "SELECT name, owner, claimed_at FROM domains ORDER BY claimed_at, name",
                rs -> new DomainClaim(rs.getString(1), rs.getString(2), Instant.ofEpochMilli(rs.getLong(3)))));
    }

    /** Records a new claim; fails if the name is held already (by anyone). */
    public void claim(DomainClaim claim) {
        db.immediate("writing", "claiming domain " + claim.name() + " for " + claim.owner(), c -> Sql.update(c,
                "INSERT INTO domains (name, owner, claimed_at) VALUES (?, ?, ?)",
                claim.name(), claim.owner(), claim.claimedAt().toEpochMilli()));
    }

    /** Forgets the owner's claims on these names (a name held by someone else is left alone). */
    public void release(String owner, Collection<String> names) {
        List<String> released = List.copyOf(names);
        db.record("releasing domains " + released + " of " + owner, false, c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM domains WHERE name = ? AND owner = ?")) {
                for (String name : released) {
                    ps.setString(1, name);
                    ps.setString(2, owner);
                    ps.executeUpdate();
                }
            }
            return null;
        });
    }

    /** Gives {@code from}'s claims on these names to {@code to}, as claimed at {@code at}; all or nothing. */
    public void transfer(Collection<String> names, String from, String to, Instant at) {
        db.durable("transferring domains " + names + " to " + to, c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE domains SET owner = ?, claimed_at = ? WHERE name = ? AND owner = ?")) {
                for (String name : names) {
                    ps.setString(1, to);
                    ps.setLong(2, at.toEpochMilli());
                    ps.setString(3, name);
                    ps.setString(4, from);
                    if (ps.executeUpdate() != 1) {
                        throw new StateException("state database: domain " + name + " is not held by " + from);
                    }
                }
            }
            return null;
        });
    }

    /** Every approval the operator gave, oldest first. */
    public List<DomainApproval> approvals() {
        return db.read("reading domain approvals", c -> Sql.all(c,
                "SELECT name, tenant, approved_at FROM domain_approvals ORDER BY approved_at, name, tenant",
                rs -> new DomainApproval(rs.getString(1), rs.getString(2), Instant.ofEpochMilli(rs.getLong(3)))));
    }

    /** Records an approval (again: keeps the first time it was given). */
    public void approve(DomainApproval approval) {
        db.immediate("writing", "approving domain " + approval.name() + " for " + approval.tenant(), c -> Sql.update(c,
                "INSERT OR IGNORE INTO domain_approvals (name, tenant, approved_at) VALUES (?, ?, ?)",
                approval.name(), approval.tenant(), approval.approvedAt().toEpochMilli()));
    }

    /** Withdraws an approval; false if there was none. */
    public boolean revokeApproval(String name, String tenant) {
        return db.immediate("writing", "revoking the approval of domain " + name + " for " + tenant,
                c -> Sql.update(c, "DELETE FROM domain_approvals WHERE name = ? AND tenant = ?", name, tenant) > 0);
    }
}
