package dev.emperor.supervisor.state;

import java.util.List;

/**
 * The state database's schema, as the list of steps that build it. Kept apart from the code
 * that reads and writes the tables so that the history of the file format reads in one place.
 */
final class StateSchema {
    private StateSchema() {}

    /**
     * Schema migrations: entry i takes the database from user_version i to i+1. Append new
     * entries; never edit one that has shipped.
     */
    static final List<List<String>> MIGRATIONS = List.of(
            List.of(
                """
                CREATE TABLE vassals (
                    name           TEXT PRIMARY KEY,
                    uid            INTEGER NOT NULL DEFAULT -1,
                    gid            INTEGER NOT NULL DEFAULT -1,
                    config_hash    TEXT,
                    desired        TEXT NOT NULL DEFAULT 'run' CHECK (desired IN ('run', 'stop')),
                    pid            INTEGER NOT NULL DEFAULT 0,
                    pid_start_time INTEGER NOT NULL DEFAULT 0,
                    started_at     INTEGER,
                    restarts       INTEGER NOT NULL DEFAULT 0,
                    last_exit      TEXT,
                    last_error     TEXT,
                    updated_at     INTEGER NOT NULL
                )""",
                // A uid, once given to a tenant, belongs to that tenant forever (files it
                // created may survive anywhere). 'current' marks the one it uses now; a tenant
                // whose file switches to another explicit uid keeps its old one as retired.
                """
                CREATE TABLE uids (
                    uid          INTEGER PRIMARY KEY,
                    name         TEXT NOT NULL,
                    current      INTEGER NOT NULL CHECK (current IN (0, 1)),
                    allocated_at INTEGER NOT NULL
                )""",
                "CREATE UNIQUE INDEX uids_current_by_name ON uids(name) WHERE current = 1",
                """
                CREATE TABLE events (
                    id     INTEGER PRIMARY KEY,
                    name   TEXT NOT NULL,
                    at     INTEGER NOT NULL,
                    kind   TEXT NOT NULL,
                    detail TEXT
                )""",
                "CREATE INDEX events_by_name ON events(name, id)"
            ),
            List.of(
                // A tenant's tun0 address, like its uid, is never deleted nor given to another
                // tenant: peers may still hold it in caches, ACLs or DNS.
                """
                CREATE TABLE addresses (
                    name         TEXT PRIMARY KEY,
                    address      INTEGER NOT NULL UNIQUE,
                    allocated_at INTEGER NOT NULL
                )"""
            ),
            List.of(
                // A tenant's attached daemons, like its pid 1, by pid and start time: an emperor
                // restarted with on-exit = leave re-adopts them instead of starting a second copy.
                """
                CREATE TABLE daemons (
                    name           TEXT NOT NULL,
                    key            TEXT NOT NULL,
                    pid            INTEGER NOT NULL,
                    pid_start_time INTEGER NOT NULL,
                    PRIMARY KEY (name, key)
                )"""
            ),
            List.of(
                // Public ports of tenant services. Rows are never deleted and public_port is
                // UNIQUE: a port once given is never given to another (tenant, service), even
                // by a bug. released_at is set while the service is not declared.
                """
                CREATE TABLE ports (
                    tenant      TEXT NOT NULL,
                    service     TEXT NOT NULL,
                    proto       TEXT NOT NULL CHECK (proto IN ('tcp', 'tls')),
                    public_port INTEGER NOT NULL UNIQUE CHECK (public_port BETWEEN 1 AND 65535),
                    assigned_at INTEGER NOT NULL,
                    released_at INTEGER,
                    PRIMARY KEY (tenant, service)
                )"""
            ),
            List.of(
                // `emperor maintenance NAME on|off`: the operator's word, kept across restarts;
                // it overrides the vassal file's `maintenance` until the vassal is removed.
                """
                CREATE TABLE maintenance (
                    name       TEXT PRIMARY KEY,
                    enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
                    set_at     INTEGER NOT NULL
                )"""
            ),
            List.of(
                // Where a tenant's stored certificate came from: renewal replaces only 'acme'
                // ones. No row (certificates stored before this table) counts as uploaded.
                """
                CREATE TABLE certificate_origins (
                    name        TEXT PRIMARY KEY,
                    origin      TEXT NOT NULL CHECK (origin IN ('upload', 'acme')),
                    recorded_at INTEGER NOT NULL
                )"""
            ),
            List.of(
                // A tenant's ACME back-off after failed issuances, so a restarted emperor does
                // not retry every failing tenant at once (a CA counts failed validations per
                // hour, not per emperor run). Gone when the tenant gets its certificate or is removed.
                """
                CREATE TABLE acme_retries (
                    name        TEXT PRIMARY KEY,
                    failures    INTEGER NOT NULL CHECK (failures > 0),
                    not_before  INTEGER NOT NULL,
                    recorded_at INTEGER NOT NULL
                )"""
            ),
            List.of(
                // Who holds each domain: the first tenant to claim it, whatever order files
                // are read in after a restart, until its file drops the name, the file is
                // removed, or the operator transfers it. Names are normalized (lower case, no
                // trailing dot); overlapping wildcards are refused by DomainOwnership.
                """
                CREATE TABLE domains (
                    name       TEXT PRIMARY KEY,
                    owner      TEXT NOT NULL,
                    claimed_at INTEGER NOT NULL
                )""",
                "CREATE INDEX domains_by_owner ON domains(owner)",
                // `emperor domain approve NAME TENANT`: leave to claim a name outside domain-allow.
                """
                CREATE TABLE domain_approvals (
                    name        TEXT NOT NULL,
                    tenant      TEXT NOT NULL,
                    approved_at INTEGER NOT NULL,
                    PRIMARY KEY (name, tenant)
                )"""
            ),
            List.of(
                // Each tenant's front-proxy traffic since it first had any (TenantTraffic):
                // hosts bill from it, so it only grows, survives restarts and stays when the
                // tenant is removed (a tenant of the same name carries on from it).
                """
                CREATE TABLE web_traffic (
                    name             TEXT PRIMARY KEY,
                    requests         INTEGER NOT NULL,
                    web_bytes_in     INTEGER NOT NULL,
                    web_bytes_out    INTEGER NOT NULL,
                    port_connections INTEGER NOT NULL,
                    port_bytes_in    INTEGER NOT NULL,
                    port_bytes_out   INTEGER NOT NULL,
                    updated_at       INTEGER NOT NULL
                )"""
            ),
            List.of(
                // A tenant's network totals, so that status never shows them go back: not at an
                // emperor restart, nor when its tun0 is attached again (TenantNetwork). Kept, like
                // its uid and address, when its file is removed.
                """
                CREATE TABLE traffic (
                    name        TEXT PRIMARY KEY,
                    packets_in  INTEGER NOT NULL CHECK (packets_in >= 0),
                    packets_out INTEGER NOT NULL CHECK (packets_out >= 0),
                    bytes_in    INTEGER NOT NULL CHECK (bytes_in >= 0),
                    bytes_out   INTEGER NOT NULL CHECK (bytes_out >= 0),
                    updated_at  INTEGER NOT NULL
                )"""
            ),
            List.of(
                // Tenants whose vassal file was removed: their uid, address, ports, domains, home
                // and disk image stay theirs (the same name coming back is the same tenant) until
                // `emperor purge` or the end of `retain` after retired_at (see TenantIdentity).
                """
                CREATE TABLE retired (
                    name       TEXT PRIMARY KEY,
                    retired_at INTEGER NOT NULL
                )""",
                // Tenants removed before retirement existed kept their identity with no end:
                // they count as retired now, so retention applies to them from the upgrade on.
                """
                INSERT OR IGNORE INTO retired (name, retired_at)
                SELECT name, CAST(strftime('%s', 'now') AS INTEGER) * 1000 FROM (
                    SELECT name FROM uids UNION SELECT name FROM addresses UNION SELECT tenant FROM ports
                    UNION SELECT owner FROM domains)
                WHERE name NOT IN (SELECT name FROM vassals)"""
            ));

    /** The schema version this emperor writes (PRAGMA user_version once migrated). */
    static int version() {
        return MIGRATIONS.size();
    }
}
