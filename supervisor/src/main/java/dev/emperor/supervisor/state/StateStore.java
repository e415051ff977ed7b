package dev.emperor.supervisor.state;

import dev.emperor.proxy.TenantTraffic;
import dev.emperor.proxy.l4.PortAssignment;
import dev.emperor.proxy.l4.ServiceProtocol;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;

/**
 * The emperor's memory across its own restarts: vassals and their processes, uid and address
 * allocations, public ports, certificate origins and ACME back-off, and event history, in one
 * SQLite file ({@code STATE_DIR/emperor.db}).
 *
 * <p>Durability: WAL journal with {@code synchronous=NORMAL}. Every method commits before it
 * returns, and a committed WAL transaction survives the emperor being killed ({@code kill -9},
 * a JVM crash) because the data is already in the kernel's page cache. Only an OS crash or power
 * loss can lose the last few transactions, which {@code FULL} would prevent at the cost of an
 * fsync per write; after such a crash the emperor re-reads the vassal files and /proc anyway.
 *
 * <p>One connection, one writer: all methods are synchronized, so the store may be shared by
 * all threads of the emperor.
 */
public final class StateStore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StateStore.class);

    /** Events kept per vassal; older ones are dropped as new ones arrive. */
    public static final int EVENTS_KEPT_PER_VASSAL = 1000;

    private static final String DB_FILE = "emperor.db";
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");

    /**
     * Schema migrations: entry i takes the database from user_version i to i+1. Append new
     * entries; never edit one that has shipped.
     */
    private static final List<String[]> MIGRATIONS = List.<String[]>of(
            new String[] {
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
                "CREATE INDEX events_by_name ON events(name, id)",
            },
            new String[] {
                // A tenant's tun0 address, like its uid, is never deleted nor given to another
                // tenant: peers may still hold it in caches, ACLs or DNS.
                """
                CREATE TABLE addresses (
                    name         TEXT PRIMARY KEY,
                    address      INTEGER NOT NULL UNIQUE,
                    allocated_at INTEGER NOT NULL
                )""",
            },
            new String[] {
                // A tenant's attached daemons, like its pid 1, by pid and start time: an emperor
                // restarted with on-exit = leave re-adopts them instead of starting a second copy.
                """
                CREATE TABLE daemons (
                    name           TEXT NOT NULL,
                    key            TEXT NOT NULL,
                    pid            INTEGER NOT NULL,
                    pid_start_time INTEGER NOT NULL,
                    PRIMARY KEY (name, key)
                )""",
            },
            new String[] {
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
                )""",
            },
            new String[] {
                // `emperor maintenance NAME on|off`: the operator's word, kept across restarts;
                // it overrides the vassal file's `maintenance` until the vassal is removed.
                """
                CREATE TABLE maintenance (
                    name       TEXT PRIMARY KEY,
                    enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
                    set_at     INTEGER NOT NULL
                )""",
            },
            new String[] {
                // Where a tenant's stored certificate came from: renewal replaces only 'acme'
                // ones. No row (certificates stored before this table) counts as uploaded.
                """
                CREATE TABLE certificate_origins (
                    name        TEXT PRIMARY KEY,
                    origin      TEXT NOT NULL CHECK (origin IN ('upload', 'acme')),
                    recorded_at INTEGER NOT NULL
                )""",
            },
            new String[] {
                // A tenant's ACME back-off after failed issuances, so a restarted emperor does
                // not retry every failing tenant at once (a CA counts failed validations per
                // hour, not per emperor run). Gone when the tenant gets its certificate or is removed.
                """
                CREATE TABLE acme_retries (
                    name        TEXT PRIMARY KEY,
                    failures    INTEGER NOT NULL CHECK (failures > 0),
                    not_before  INTEGER NOT NULL,
                    recorded_at INTEGER NOT NULL
                )""",
            },
            new String[] {
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
                )""",
            },
            new String[] {
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
                )""",
            },
            new String[] {
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
                )""",
            },
            new String[] {
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
                WHERE name NOT IN (SELECT name FROM vassals)""",
            });

    /** Deferred records kept at most before events (only) are dropped; each is a few hundred bytes. */
    static final int MAX_DEFERRED = 10_000;

    private final Connection db;
    private final int eventsKept;
    private final Path dir;
    /** Records the state directory refused, oldest first (see {@link #record}). */
    private final java.util.ArrayDeque<Deferred> deferred = new java.util.ArrayDeque<>();
    private long eventsDropped;
    /** The last refused write while the state directory refuses writes; null when it takes them. */
    private volatile StateNotWritable lastFailure;
    private Runnable onWritableAgain;

    private record Deferred(String what, Work<?> work) {}

    private StateStore(Connection db, int eventsKept, Path dir) {
        this.db = db;
        this.eventsKept = eventsKept;
        this.dir = dir;
    }

    /**
     * Opens (creating if needed) the state database in {@code stateDir}. The directory is
     * created, or tightened, to mode 0700: the database names every tenant and its uid.
     */
    public static StateStore open(Path stateDir) throws IOException {
        return open(stateDir, EVENTS_KEPT_PER_VASSAL);
    }

    static StateStore open(Path stateDir, int eventsKept) throws IOException {
        Path dir = privateDirectory(stateDir);
        // sqlite-jdbc unpacks its native library into org.sqlite.tmpdir (default java.io.tmpdir)
        // the first time a connection is opened; /tmp may be mounted noexec. An explicit
        // -Dorg.sqlite.tmpdir from the operator wins.
        if (System.getProperty("org.sqlite.tmpdir") == null) {
            System.setProperty("org.sqlite.tmpdir", privateDirectory(dir.resolve("tmp")).toString());
        }
        Path nativeDir = Path.of(System.getProperty("org.sqlite.tmpdir"));

        SQLiteConfig config = new SQLiteConfig();
        config.setBusyTimeout(5000);
        config.setJournalMode(SQLiteConfig.JournalMode.WAL);
        config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL); // see the class comment
        config.setTempStore(SQLiteConfig.TempStore.MEMORY); // no temp files in /tmp either
        // Write transactions take the write lock at BEGIN, so they never fail half-way with BUSY.
        config.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
        Path file = dir.resolve(DB_FILE);
        Connection connection;
        try {
            connection = config.createConnection("jdbc:sqlite:" + file);
        } catch (SQLException e) {
            throw new IOException("cannot open state database " + file + ": " + e.getMessage(), e);
        }
        if (nativeDir.startsWith(dir)) removeUnpackedLibraries(nativeDir);
        StateStore store = new StateStore(connection, eventsKept, dir);
        try {
            String mode = store.journalMode();
            if (!mode.equalsIgnoreCase("wal")) {
                // e.g. a file system without shared memory support; we would silently lose
                // the crash guarantees the rest of the emperor relies on.
                throw new IOException("state database " + file + " cannot use WAL (journal_mode is " + mode + ")");
            }
            store.migrate(file);
        } catch (IOException | RuntimeException e) {
            store.close();
            throw e;
        }
        return store;
    }

    /**
     * sqlite-jdbc unpacks its 1 MB library under a new name at every start and deletes it only
     * at a clean JVM exit: after kill -9 the copies piled up and filled a small state
     * filesystem. Once the library is loaded (the connection is open) the files are not needed
     * (a mapped library outlives its name), so every copy in our own directory goes now.
     */
    private static void removeUnpackedLibraries(Path nativeDir) {
        try (var files = Files.newDirectoryStream(nativeDir, "sqlite-*")) {
            for (Path file : files) Files.deleteIfExists(file);
        } catch (IOException e) {
            log.warn("cannot remove sqlite-jdbc's unpacked libraries in {}: {}", nativeDir, e.toString());
        }
    }

    private static Path privateDirectory(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, OWNER_ONLY);
        return dir;
    }

    private void migrate(Path file) throws IOException {
        int version = schemaVersion();
        if (version > MIGRATIONS.size()) {
            throw new IOException("state database " + file + " has schema version " + version
                    + ", newer than this emperor understands (" + MIGRATIONS.size() + ")");
        }
        for (int v = version; v < MIGRATIONS.size(); v++) {
            String[] steps = MIGRATIONS.get(v);
            int next = v + 1;
            inTransaction(() -> {
                try (Statement st = db.createStatement()) {
                    for (String sql : steps) {
                        st.executeUpdate(sql);
                    }
                    st.executeUpdate("PRAGMA user_version = " + next);
                }
                return null;
            });
        }
    }

    /** The schema version stored in the database (PRAGMA user_version). */
    synchronized int schemaVersion() {
        return queryInt("PRAGMA user_version");
    }

    /** The journal mode in effect; "wal" once opened. */
    synchronized String journalMode() {
        try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery("PRAGMA journal_mode")) {
            rs.next();
            return rs.getString(1);
        } catch (SQLException e) {
            throw failed("reading journal mode", e);
        }
    }

    // ---- vassals -------------------------------------------------------------------------

    public synchronized Optional<VassalRow> vassal(String name) {
        try (PreparedStatement ps = db.prepareStatement("SELECT * FROM vassals WHERE name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(vassalRow(rs)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw failed("reading vassal " + name, e);
        }
    }

    /** All vassals, ordered by name. */
    public synchronized List<VassalRow> vassals() {
        try (Statement st = db.createStatement();
                ResultSet rs = st.executeQuery("SELECT * FROM vassals ORDER BY name")) {
            List<VassalRow> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(vassalRow(rs));
            }
            return rows;
        } catch (SQLException e) {
            throw failed("listing vassals", e);
        }
    }

    /** Records whether the operator wants the vassal running; creates its row if needed. */
    public synchronized void setDesired(String name, Desired desired) {
        updateVassal(name, "desired = ?", desired.stored());
    }

    /**
     * Records a freshly spawned jail: its pid 1 and that process's start time (to recognise it
     * again after an emperor restart), the config it was started from and its credentials.
     * Clears last_error.
     */
    public synchronized void recordSpawn(String name, int pid, long pidStartTime, String configHash, int uid, int gid) {
        if (pid <= 0) {
            throw new IllegalArgumentException("pid must be positive: " + pid);
        }
        updateVassal(name,
                "pid = ?, pid_start_time = ?, config_hash = ?, uid = ?, gid = ?, started_at = ?, last_error = NULL",
                pid, pidStartTime, configHash, uid, gid, System.currentTimeMillis());
    }

    /** The running tenant now runs this file's configuration (it was applied without a restart). */
    public synchronized void recordConfigHash(String name, String configHash) {
        updateVassal(name, "config_hash = ?", configHash);
    }

    /**
     * Records that the vassal's process ended: forgets its pid, keeps how it ended and, when
     * the exit was not asked for, counts a restart.
     */
    public synchronized void recordExit(String name, String lastExit, boolean countsAsRestart) {
        updateVassal(name,
                "pid = 0, pid_start_time = 0, last_exit = ?, restarts = restarts + ?",
                lastExit, countsAsRestart ? 1 : 0);
    }

    /** Records the vassal's current problem; {@code null} clears it. */
    public synchronized void recordError(String name, String error) {
        updateVassal(name, "last_error = ?", error);
    }

    private void updateVassal(String name, String assignments, Object... values) {
        long now = System.currentTimeMillis();
        record("recording " + assignments.replaceAll(" = \\?", "") + " of " + name, false, () -> {
            try (PreparedStatement insert = db.prepareStatement(
                    "INSERT INTO vassals (name, updated_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")) {
                insert.setString(1, name);
                insert.setLong(2, now);
                insert.executeUpdate();
            }
            try (PreparedStatement update = db.prepareStatement(
                    "UPDATE vassals SET " + assignments + ", updated_at = ? WHERE name = ?")) {
                int i = 1;
                for (Object value : values) {
                    update.setObject(i++, value);
                }
                update.setLong(i++, now);
                update.setString(i, name);
                update.executeUpdate();
            }
            return null;
        });
    }

    private static VassalRow vassalRow(ResultSet rs) throws SQLException {
        return new VassalRow(
                rs.getString("name"),
                rs.getInt("uid"),
                rs.getInt("gid"),
                rs.getString("config_hash"),
                Desired.fromStored(rs.getString("desired")),
                rs.getInt("pid"),
                rs.getLong("pid_start_time"),
                instantOrNull(rs, "started_at"),
                rs.getInt("restarts"),
                rs.getString("last_exit"),
                rs.getString("last_error"),
                Instant.ofEpochMilli(rs.getLong("updated_at")));
    }

    private static Instant instantOrNull(ResultSet rs, String column) throws SQLException {
        long millis = rs.getLong(column);
        return rs.wasNull() ? null : Instant.ofEpochMilli(millis);
    }

    // ---- uids ----------------------------------------------------------------------------

    /**
     * Returns the tenant's current uid, or gives it the lowest uid in [min, max] that no
     * tenant has ever had. A tenant keeps its uid even if the range later changes.
     *
     * @throws IllegalStateException when every uid in the range is taken
     */
    public synchronized int allocateUid(String name, int min, int max) {
        if (min <= 0 || min > max) {
            throw new IllegalArgumentException("bad uid range " + min + "-" + max + " (must be 1 or more, min <= max)");
        }
        Integer known = read("reading the uid of " + name, () -> currentUid(name));
        if (known != null) return known; // a known tenant never waits for the disk
        return durable("allocating a uid for " + name, () -> {
            Integer existing = currentUid(name);
            if (existing != null) {
                return existing;
            }
            long candidate = min;
            try (PreparedStatement ps = db.prepareStatement(
                    "SELECT uid FROM uids WHERE uid BETWEEN ? AND ? ORDER BY uid")) {
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
            insertCurrentUid(name, (int) candidate);
            return (int) candidate;
        });
    }

    /**
     * Gives the tenant the uid its vassal file names explicitly. If the tenant had another uid
     * before, that one stays reserved for it (retired), never handed to anyone else.
     *
     * @throws IllegalStateException if another tenant has (or had) this uid
     */
    public synchronized void claimUid(String name, int uid) {
        if (uid <= 0) {
            throw new IllegalArgumentException("uid " + uid + " cannot be given to a tenant");
        }
        Integer known = read("reading the uid of " + name, () -> currentUid(name));
        if (known != null && known == uid) return;
        durable("giving uid " + uid + " to " + name, () -> {
            String owner = uidOwnerInternal(uid);
            if (owner != null && !owner.equals(name)) {
                throw new IllegalStateException("uid " + uid + " already belongs to tenant " + owner);
            }
            Integer current = currentUid(name);
            if (current != null && current == uid) {
                return null;
            }
            try (PreparedStatement retire = db.prepareStatement("UPDATE uids SET current = 0 WHERE name = ?")) {
                retire.setString(1, name);
                retire.executeUpdate();
            }
            if (owner == null) {
                insertCurrentUid(name, uid);
            } else {
                // The tenant goes back to a uid it had before.
                try (PreparedStatement reuse = db.prepareStatement("UPDATE uids SET current = 1 WHERE uid = ?")) {
                    reuse.setInt(1, uid);
                    reuse.executeUpdate();
                }
            }
            return null;
        });
    }

    /** The uid the tenant uses now, if it was ever given one (never allocates). */
    public synchronized Optional<Integer> uidOf(String name) {
        try {
            return Optional.ofNullable(currentUid(name));
        } catch (SQLException e) {
            throw failed("reading the uid of " + name, e);
        }
    }

    /** The tenant that has (or once had) this uid. */
    public synchronized Optional<String> uidOwner(int uid) {
        try {
            return Optional.ofNullable(uidOwnerInternal(uid));
        } catch (SQLException e) {
            throw failed("looking up uid " + uid, e);
        }
    }

    private String uidOwnerInternal(int uid) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT name FROM uids WHERE uid = ?")) {
            ps.setInt(1, uid);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    private Integer currentUid(String name) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT uid FROM uids WHERE name = ? AND current = 1")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getInt(1) : null;
            }
        }
    }

    private void insertCurrentUid(String name, int uid) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement(
                "INSERT INTO uids (uid, name, current, allocated_at) VALUES (?, ?, 1, ?)")) {
            ps.setInt(1, uid);
            ps.setString(2, name);
            ps.setLong(3, System.currentTimeMillis());
            ps.executeUpdate();
        }
    }

    // ---- tenant addresses ----------------------------------------------------------------

    /** The IPv4 address (as an int) recorded for the tenant, if any. */
    public synchronized Optional<Integer> addressOf(String name) {
        try (PreparedStatement ps = db.prepareStatement("SELECT address FROM addresses WHERE name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(rs.getInt(1)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw failed("reading the address of " + name, e);
        }
    }

    /** Records the tenant's address for good; fails if the tenant or the address already has a row. */
    public synchronized void recordAddress(String name, int address) {
        durable("recording the address of " + name, () -> {
            try (PreparedStatement ps = db.prepareStatement(
                    "INSERT INTO addresses (name, address, allocated_at) VALUES (?, ?, ?)")) {
                ps.setString(1, name);
                ps.setInt(2, address);
                ps.setLong(3, System.currentTimeMillis());
                ps.executeUpdate();
            }
            return null;
        });
    }

    /** Every address ever recorded. */
    public synchronized Set<Integer> addresses() {
        try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery("SELECT address FROM addresses")) {
            Set<Integer> all = new java.util.HashSet<>();
            while (rs.next()) all.add(rs.getInt(1));
            return all;
        } catch (SQLException e) {
            throw failed("reading addresses", e);
        }
    }

    // ---- network totals ------------------------------------------------------------------

    /** The tenant's recorded network totals, if any were ever recorded. */
    public synchronized Optional<TrafficTotals> trafficTotals(String name) {
        try (PreparedStatement ps = db.prepareStatement(
                "SELECT packets_in, packets_out, bytes_in, bytes_out FROM traffic WHERE name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(new TrafficTotals(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4)))
                        : Optional.empty();
            }
        } catch (SQLException e) {
            throw failed("reading the network totals of " + name, e);
        }
    }

    /** Records the tenant's totals; a counter never goes below what is already recorded. */
    public synchronized void recordTrafficTotals(String name, TrafficTotals totals) {
        inTransaction(() -> {
            try (PreparedStatement ps = db.prepareStatement("""
                    INSERT INTO traffic (name, packets_in, packets_out, bytes_in, bytes_out, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (name) DO UPDATE SET
                        packets_in = max(packets_in, excluded.packets_in),
                        packets_out = max(packets_out, excluded.packets_out),
                        bytes_in = max(bytes_in, excluded.bytes_in),
                        bytes_out = max(bytes_out, excluded.bytes_out),
                        updated_at = excluded.updated_at""")) {
                ps.setString(1, name);
                ps.setLong(2, totals.packetsIn());
                ps.setLong(3, totals.packetsOut());
                ps.setLong(4, totals.bytesIn());
                ps.setLong(5, totals.bytesOut());
                ps.setLong(6, System.currentTimeMillis());
                ps.executeUpdate();
            }
            return null;
        });
    }

    // ---- attached daemons ----------------------------------------------------------------

    /** Records a tenant's running daemon (replacing an earlier record under the same key). */
    public synchronized void recordDaemon(String name, String key, int pid, long pidStartTime) {
        record("recording daemon " + key + " of " + name, false, () -> {
            try (PreparedStatement ps = db.prepareStatement(
                    "INSERT OR REPLACE INTO daemons (name, key, pid, pid_start_time) VALUES (?, ?, ?, ?)")) {
                ps.setString(1, name);
                ps.setString(2, key);
                ps.setInt(3, pid);
                ps.setLong(4, pidStartTime);
                ps.executeUpdate();
            }
            return null;
        });
    }

    /** Forgets one daemon record; {@code key} null forgets all of the tenant's. */
    public synchronized void forgetDaemon(String name, String key) {
        record("forgetting daemons of " + name, false, () -> {
            try (PreparedStatement ps = db.prepareStatement(key == null ? "DELETE FROM daemons WHERE name = ?"
                    : "DELETE FROM daemons WHERE name = ? AND key = ?")) {
                ps.setString(1, name);
                if (key != null) ps.setString(2, key);
                ps.executeUpdate();
            }
            return null;
        });
    }

    /** The tenant's recorded daemons: key to {pid, start time}. */
    public synchronized java.util.Map<String, long[]> daemons(String name) {
        try (PreparedStatement ps = db.prepareStatement(
                "SELECT key, pid, pid_start_time FROM daemons WHERE name = ? ORDER BY key")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                java.util.Map<String, long[]> all = new java.util.LinkedHashMap<>();
                while (rs.next()) all.put(rs.getString(1), new long[] {rs.getInt(2), rs.getLong(3)});
                return all;
            }
        } catch (SQLException e) {
            throw failed("reading daemons of " + name, e);
        }
    }

    // ---- maintenance mode set by the operator ---------------------------------------------

    /** The operator's maintenance setting for the tenant, if any (else its file decides). */
    public synchronized Optional<Boolean> maintenance(String name) {
        try (PreparedStatement ps = db.prepareStatement("SELECT enabled FROM maintenance WHERE name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(rs.getInt(1) == 1) : Optional.empty();
            }
        } catch (SQLException e) {
            throw failed("reading the maintenance setting of " + name, e);
        }
    }

    /** Records the operator's maintenance setting; null forgets it (the file decides again). */
    public synchronized void setMaintenance(String name, Boolean enabled) {
        String what = "storing the maintenance setting of " + name;
        if (enabled == null) { // forgetting (the tenant is gone): a record, written when the directory takes it
            record(what, false, () -> delete("DELETE FROM maintenance WHERE name = ?", name));
            return;
        }
        awaitDeferred(what); // the operator's word: refused, not kept, while it cannot be written
        try (PreparedStatement ps = db.prepareStatement("INSERT INTO maintenance (name, enabled, set_at) VALUES (?, ?, ?)"
                + " ON CONFLICT(name) DO UPDATE SET enabled = excluded.enabled, set_at = excluded.set_at")) {
            ps.setString(1, name);
            ps.setInt(2, enabled ? 1 : 0);
            ps.setLong(3, System.currentTimeMillis());
            ps.executeUpdate();
        } catch (SQLException e) {
            throw failed(what, e);
        }
    }

    // ---- where tenants' certificates came from -------------------------------------------

    /** The origin of the tenant's stored certificate, if recorded. */
    public synchronized Optional<CertificateOrigin> certificateOrigin(String name) {
        try (PreparedStatement ps = db.prepareStatement("SELECT origin FROM certificate_origins WHERE name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(CertificateOrigin.fromStored(rs.getString(1))) : Optional.empty();
            }
        } catch (SQLException e) {
            throw failed("reading the certificate origin of " + name, e);
        }
    }

    /** Records where the tenant's certificate came from; null forgets it (certificate removed). */
    public synchronized void setCertificateOrigin(String name, CertificateOrigin origin) {
        String what = "storing the certificate origin of " + name;
        if (origin == null) { // forgetting: a record, written when the directory takes it
            record(what, false, () -> delete("DELETE FROM certificate_origins WHERE name = ?", name));
            return;
        }
        awaitDeferred(what);
        try (PreparedStatement ps = db.prepareStatement("INSERT INTO certificate_origins (name, origin, recorded_at)"
                + " VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET origin = excluded.origin, recorded_at = excluded.recorded_at")) {
            ps.setString(1, name);
            ps.setString(2, origin.stored());
            ps.setLong(3, System.currentTimeMillis());
            ps.executeUpdate();
        } catch (SQLException e) {
            throw failed(what, e);
        }
    }

    // ---- ACME back-off after failed issuances --------------------------------------------

    /** Every tenant's recorded ACME back-off, by name. */
    public synchronized java.util.Map<String, AcmeRetry> acmeRetries() {
        try (Statement st = db.createStatement();
                ResultSet rs = st.executeQuery("SELECT name, failures, not_before FROM acme_retries ORDER BY name")) {
            java.util.Map<String, AcmeRetry> all = new java.util.LinkedHashMap<>();
            while (rs.next()) {
                all.put(rs.getString(1), new AcmeRetry(rs.getInt(2), Instant.ofEpochMilli(rs.getLong(3))));
            }
            return all;
        } catch (SQLException e) {
            throw failed("reading ACME back-offs", e);
        }
    }

    /** Records the tenant's ACME back-off; null forgets it (issued, or the tenant removed). */
    public synchronized void setAcmeRetry(String name, AcmeRetry retry) {
        long now = System.currentTimeMillis();
        // A back-off is a record: lost only if the emperor dies before the directory takes it.
        record("storing the ACME back-off of " + name, false, () -> {
            if (retry == null) return delete("DELETE FROM acme_retries WHERE name = ?", name);
            try (PreparedStatement ps = db.prepareStatement(
                    "INSERT INTO acme_retries (name, failures, not_before, recorded_at) VALUES (?, ?, ?, ?)"
                            + " ON CONFLICT(name) DO UPDATE SET failures = excluded.failures,"
                            + " not_before = excluded.not_before, recorded_at = excluded.recorded_at")) {
                ps.setString(1, name);
                ps.setInt(2, retry.failures());
                ps.setLong(3, retry.notBefore().toEpochMilli());
                ps.setLong(4, now);
                ps.executeUpdate();
            }
            return null;
        });
    }

    // ---- domain ownership (see DomainOwnership) --------------------------------------------

    /** Every held domain, oldest claim first. */
    public synchronized List<DomainClaim> domainClaims() {
        try (Statement st = db.createStatement();
                ResultSet rs = st.executeQuery("SELECT name, owner, claimed_at FROM domains ORDER BY claimed_at, name")) {
            List<DomainClaim> all = new ArrayList<>();
            while (rs.next()) {
                all.add(new DomainClaim(rs.getString(1), rs.getString(2), Instant.ofEpochMilli(rs.getLong(3))));
            }
            return all;
        } catch (SQLException e) {
            throw failed("reading domain claims", e);
        }
    }

    /** Records a new claim; fails if the name is held already (by anyone). */
    public synchronized void claimDomain(DomainClaim claim) {
        awaitDeferred("writing");
        try (PreparedStatement ps = db.prepareStatement("INSERT INTO domains (name, owner, claimed_at) VALUES (?, ?, ?)")) {
            ps.setString(1, claim.name());
            ps.setString(2, claim.owner());
            ps.setLong(3, claim.claimedAt().toEpochMilli());
            ps.executeUpdate();
        } catch (SQLException e) {
            throw failed("claiming domain " + claim.name() + " for " + claim.owner(), e);
        }
    }

    /** Forgets the owner's claims on these names (a name held by someone else is left alone). */
    public synchronized void releaseDomains(String owner, java.util.Collection<String> names) {
        List<String> released = List.copyOf(names);
        record("releasing domains " + released + " of " + owner, false, () -> {
            try (PreparedStatement ps = db.prepareStatement("DELETE FROM domains WHERE name = ? AND owner = ?")) {
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
    public synchronized void transferDomains(java.util.Collection<String> names, String from, String to, Instant at) {
        durable("transferring domains " + names + " to " + to, () -> {
            try (PreparedStatement ps = db.prepareStatement(
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
    public synchronized List<DomainApproval> domainApprovals() {
        try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT name, tenant, approved_at FROM domain_approvals ORDER BY approved_at, name, tenant")) {
            List<DomainApproval> all = new ArrayList<>();
            while (rs.next()) {
                all.add(new DomainApproval(rs.getString(1), rs.getString(2), Instant.ofEpochMilli(rs.getLong(3))));
            }
            return all;
        } catch (SQLException e) {
            throw failed("reading domain approvals", e);
        }
    }

    /** Records an approval (again: keeps the first time it was given). */
    public synchronized void approveDomain(DomainApproval approval) {
        awaitDeferred("writing");
        try (PreparedStatement ps = db.prepareStatement(
                "INSERT OR IGNORE INTO domain_approvals (name, tenant, approved_at) VALUES (?, ?, ?)")) {
            ps.setString(1, approval.name());
            ps.setString(2, approval.tenant());
            ps.setLong(3, approval.approvedAt().toEpochMilli());
            ps.executeUpdate();
        } catch (SQLException e) {
            throw failed("approving domain " + approval.name() + " for " + approval.tenant(), e);
        }
    }

    /** Withdraws an approval; false if there was none. */
    public synchronized boolean revokeDomainApproval(String name, String tenant) {
        awaitDeferred("writing");
        try (PreparedStatement ps = db.prepareStatement("DELETE FROM domain_approvals WHERE name = ? AND tenant = ?")) {
            ps.setString(1, name);
            ps.setString(2, tenant);
            return ps.executeUpdate() > 0;
        } catch (SQLException e) {
            throw failed("revoking the approval of domain " + name + " for " + tenant, e);
        }
    }

    // ---- public ports (see SqlitePortLedger) ---------------------------------------------

    /** Every port assignment ever recorded, by port. */
    public synchronized List<PortAssignment> portAssignments() {
        return queryPorts("SELECT * FROM ports ORDER BY public_port", null);
    }

    /** The tenant's port assignments, released ones included, by service name (for status). */
    public synchronized List<PortAssignment> ports(String tenant) {
        return queryPorts("SELECT * FROM ports WHERE tenant = ? ORDER BY service", tenant);
    }

    /** Records a new assignment; fails if the port or the (tenant, service) already has a row. */
    public synchronized void recordPort(PortAssignment a) {
        durable("recording port " + a.publicPort() + " of " + a.tenant(), () -> {
            try (PreparedStatement ps = db.prepareStatement(
                    "INSERT INTO ports (tenant, service, proto, public_port, assigned_at, released_at) VALUES (?, ?, ?, ?, ?, ?)")) {
                long now = System.currentTimeMillis();
                ps.setString(1, a.tenant());
                ps.setString(2, a.service());
                ps.setString(3, a.protocol().stored());
                ps.setInt(4, a.publicPort());
                ps.setLong(5, now);
                if (a.released()) {
                    ps.setLong(6, now);
                } else {
                    ps.setNull(6, java.sql.Types.INTEGER);
                }
                ps.executeUpdate();
            }
            return null;
        });
    }

    /** Stores a changed protocol or released state; the port itself can never change. */
    public synchronized void updatePort(PortAssignment a) {
        long now = System.currentTimeMillis();
        record("updating port " + a.publicPort() + " of " + a.tenant(), false, () -> {
            try (PreparedStatement ps = db.prepareStatement("""
                    UPDATE ports SET proto = ?,
                        released_at = CASE WHEN ? THEN coalesce(released_at, ?) ELSE NULL END
                    WHERE tenant = ? AND service = ? AND public_port = ?""")) {
                ps.setString(1, a.protocol().stored());
                ps.setBoolean(2, a.released());
                ps.setLong(3, now);
                ps.setString(4, a.tenant());
                ps.setString(5, a.service());
                ps.setInt(6, a.publicPort());
                if (ps.executeUpdate() != 1) {
                    throw new StateException("state database: no port " + a.publicPort() + " recorded for "
                            + a.tenant() + "/" + a.service());
                }
            }
            return null;
        });
    }

    private List<PortAssignment> queryPorts(String sql, String tenant) {
        try (PreparedStatement ps = db.prepareStatement(sql)) {
            if (tenant != null) {
                ps.setString(1, tenant);
            }
            try (ResultSet rs = ps.executeQuery()) {
                List<PortAssignment> rows = new ArrayList<>();
                while (rs.next()) {
                    String proto = rs.getString("proto");
                    rows.add(new PortAssignment(rs.getString("tenant"), rs.getString("service"),
                            ServiceProtocol.fromStored(proto).orElseThrow(
                                    () -> new StateException("state database: unknown port protocol " + proto)),
                            rs.getInt("public_port"), rs.getObject("released_at") != null));
                }
                return rows;
            }
        } catch (SQLException e) {
            throw failed("reading ports", e);
        }
    }

    // ---- events --------------------------------------------------------------------------

    /** Told each vassal name that got an event (status-dir rewrites its file); must return at once. */
    private volatile java.util.function.Consumer<String> eventListener = name -> {};

    public void onEvent(java.util.function.Consumer<String> listener) {
        eventListener = listener;
    }

    /** Appends to the vassal's history, dropping its oldest events beyond the limit. */
    public synchronized void event(String name, EventKind kind, String detail) {
        long at = System.currentTimeMillis();
        record("recording an event of " + name, true, () -> {
            try (PreparedStatement ps = db.prepareStatement(
                    "INSERT INTO events (name, at, kind, detail) VALUES (?, ?, ?, ?)")) {
                ps.setString(1, name);
                ps.setLong(2, at);
                ps.setString(3, kind.stored());
                ps.setString(4, detail);
                ps.executeUpdate();
            }
            // Cheap with the (name, id) index: one step back from the newest, then a range delete
            // that finds nothing (or one row) in the steady state.
            try (PreparedStatement ps = db.prepareStatement("""
                    DELETE FROM events WHERE name = ? AND id <= (
                        SELECT id FROM events WHERE name = ? ORDER BY id DESC LIMIT 1 OFFSET ?)""")) {
                ps.setString(1, name);
                ps.setString(2, name);
                ps.setInt(3, eventsKept);
                ps.executeUpdate();
            }
            return null;
        });
        eventListener.accept(name);
    }

    /** The vassal's newest events, newest first. */
    public synchronized List<EventRow> events(String name, int limit) {
        try (PreparedStatement ps = db.prepareStatement(
                "SELECT id, name, at, kind, detail FROM events WHERE name = ? ORDER BY id DESC LIMIT ?")) {
            ps.setString(1, name);
            ps.setInt(2, limit);
            try (ResultSet rs = ps.executeQuery()) {
                List<EventRow> rows = new ArrayList<>();
                while (rs.next()) {
                    rows.add(new EventRow(
                            rs.getLong("id"),
                            rs.getString("name"),
                            Instant.ofEpochMilli(rs.getLong("at")),
                            EventKind.fromStored(rs.getString("kind")),
                            rs.getString("detail")));
                }
                return rows;
            }
        } catch (SQLException e) {
            throw failed("reading events of " + name, e);
        }
    }

    // ---- web and public-port traffic (TenantTraffic) ---------------------------------------

    /** Every tenant's stored web and public-port totals, by name. */
    public synchronized java.util.Map<String, TenantTraffic.Totals> webTraffic() {
        try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery("SELECT name, requests, web_bytes_in,"
                + " web_bytes_out, port_connections, port_bytes_in, port_bytes_out FROM web_traffic ORDER BY name")) {
            java.util.Map<String, TenantTraffic.Totals> all = new java.util.LinkedHashMap<>();
            while (rs.next()) {
                all.put(rs.getString(1), new TenantTraffic.Totals(rs.getLong(2), rs.getLong(3), rs.getLong(4),
                        rs.getLong(5), rs.getLong(6), rs.getLong(7)));
            }
            return all;
        } catch (SQLException e) {
            throw failed("reading web traffic", e);
        }
    }

    /**
     * Stores these totals in one transaction. A stored count is never lowered (MAX), so the
     * stored counters stay monotonic whatever order or from whatever run writes come.
     */
    public synchronized void recordWebTraffic(java.util.Map<String, TenantTraffic.Totals> totals) {
        if (totals.isEmpty()) return;
        long now = System.currentTimeMillis();
        inTransaction(() -> {
            try (PreparedStatement ps = db.prepareStatement("INSERT INTO web_traffic (name, requests, web_bytes_in,"
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

    // ---- tenant identity across removal (see TenantIdentity) --------------------------------

    /**
     * The vassal's file was removed and it has stopped: its vassal row goes, and it is retired
     * as of {@code at} unless it is retired already (an earlier time is kept: removing a file
     * again never extends a reservation). Returns whether it was newly retired.
     */
    public synchronized boolean retire(String name, Instant at) {
        // A record of what happened (the file is gone, the tenant has stopped): written now, or
        // kept until a full state directory takes writes again.
        boolean fresh = retiredAt(name).isEmpty();
        record("retiring " + name, false, () -> {
            try (PreparedStatement ps = db.prepareStatement("DELETE FROM vassals WHERE name = ?")) {
                ps.setString(1, name);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = db.prepareStatement(
                    "INSERT OR IGNORE INTO retired (name, retired_at) VALUES (?, ?)")) {
                ps.setString(1, name);
                ps.setLong(2, at.toEpochMilli());
                ps.executeUpdate();
            }
            return null;
        });
        return fresh;
    }

    /** When the tenant was retired, if it is. */
    public synchronized Optional<Instant> retiredAt(String name) {
        try (PreparedStatement ps = db.prepareStatement("SELECT retired_at FROM retired WHERE name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(Instant.ofEpochMilli(rs.getLong(1))) : Optional.empty();
            }
        } catch (SQLException e) {
            throw failed("reading the retirement of " + name, e);
        }
    }

    /** Every retired tenant and when it was retired, oldest first. */
    public synchronized java.util.Map<String, Instant> retired() {
        try (Statement st = db.createStatement();
                ResultSet rs = st.executeQuery("SELECT name, retired_at FROM retired ORDER BY retired_at, name")) {
            java.util.Map<String, Instant> all = new java.util.LinkedHashMap<>();
            while (rs.next()) all.put(rs.getString(1), Instant.ofEpochMilli(rs.getLong(2)));
            return all;
        } catch (SQLException e) {
            throw failed("reading retired tenants", e);
        }
    }

    /** Which tenant a vassal file of this name is, decided by {@link #arrive}. */
    public enum Arrival {
        /** A tenant the emperor already runs (or ran, and its file never went away). */
        KNOWN,
        /** A retired tenant within retention: the same tenant, with its uid, address, ports, domains and data. */
        RESTORED,
        /** A name with nothing recorded (never seen, or purged): it gets a fresh identity. */
        NEW
    }

    /**
     * A vassal file of this name is there: a retired tenant of the name is retired no more
     * (it is the same tenant coming back), in the same transaction that says so.
     */
    public synchronized Arrival arrive(String name) {
        if (retiredAt(name).isPresent()) {
            // a record: a full state directory delays it, and until then the name reads as
            // retired (the same answer when the file is read again)
            record("restoring " + name, false, () -> {
                try (PreparedStatement ps = db.prepareStatement("DELETE FROM retired WHERE name = ?")) {
                    ps.setString(1, name);
                    ps.executeUpdate();
                }
                return null;
            });
            return Arrival.RESTORED;
        }
        try (PreparedStatement ps = db.prepareStatement("""
                SELECT EXISTS (SELECT 1 FROM vassals WHERE name = ?1) OR EXISTS (SELECT 1 FROM uids WHERE name = ?1)
                    OR EXISTS (SELECT 1 FROM addresses WHERE name = ?1)""")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1) ? Arrival.KNOWN : Arrival.NEW;
            }
        } catch (SQLException e) {
            throw failed("reading what is known of " + name, e);
        }
    }

    /**
     * Ends a retired tenant's identity, all or nothing: its uids, address and ports are kept
     * under {@code tombstone} (a label no tenant can be named, so they are never handed to
     * anyone again: files, peers' caches and clients may still point at them), its domains,
     * approvals and per-tenant records are deleted, and the name is free. Its events stay.
     *
     * @return false (and nothing changed) if the tenant is not retired
     */
    public synchronized boolean purge(String name, String tombstone) {
        return durable("purging " + name, () -> {
            try (PreparedStatement ps = db.prepareStatement("DELETE FROM retired WHERE name = ?")) {
                ps.setString(1, name);
                if (ps.executeUpdate() != 1) return false;
            }
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
                try (PreparedStatement ps = db.prepareStatement(sql)) {
                    ps.setString(1, name);
                    if (sql.contains("?2")) ps.setString(2, tombstone);
                    if (sql.contains("?3")) ps.setLong(3, now);
                    ps.executeUpdate();
                }
            }
            return true;
        });
    }

    // ---- plumbing ------------------------------------------------------------------------

    @Override
    public synchronized void close() {
        try {
            db.close();
        } catch (SQLException e) {
            throw failed("closing", e);
        }
    }

    private interface Work<T> {
        T run() throws SQLException;
    }

    private Void delete(String sql, String name) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement(sql)) {
            ps.setString(1, name);
            ps.executeUpdate();
        }
        return null;
    }

    private <T> T read(String what, Work<T> work) {
        try {
            return work.run();
        } catch (SQLException e) {
            throw failed(what, e);
        }
    }

    /** Runs {@code work} as one transaction: all of it is committed, or none of it. */
    private <T> T inTransaction(Work<T> work) {
        return inTransaction("writing", work);
    }

    /**
     * As {@link #inTransaction(Work)}, naming what is written in a failure. The first error is
     * the one reported: on a full disk SQLite has often rolled back already, and the rollback's
     * own "no transaction is active" used to hide the SQLITE_FULL behind it.
     */
    private <T> T inTransaction(String what, Work<T> work) {
        try {
            db.setAutoCommit(false);
            try {
                T result = work.run();
                db.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                try {
                    db.rollback();
                } catch (SQLException rollback) {
                    e.addSuppressed(rollback);
                }
                throw e;
            } finally {
                try {
                    db.setAutoCommit(true);
                } catch (SQLException ignored) {
                    // autocommit is restored by SQLite itself once the transaction is gone
                }
            }
        } catch (SQLException e) {
            throw failed(what, e);
        }
    }

    // ---- writes while the state directory is full -------------------------------------------

    /**
     * A record of what happened (a vassal's pid, exit, error, events, daemons, released names):
     * written now if the state directory takes it, else kept in memory, in order, and written by
     * {@link #retryDeferred()} once it does. Never fails for a full or failing disk: the emperor
     * keeps acting (restarting a known tenant, applying a change) and writes the record later.
     * {@code droppable} records (events) beyond {@link #MAX_DEFERRED} are dropped and counted.
     */
    private void record(String what, boolean droppable, Work<?> work) {
        retryDeferred();
        if (deferred.isEmpty()) {
            try {
                inTransaction(what, work);
                recoveredIfDone();
                return;
            } catch (StateNotWritable e) {
                // kept below; the failure is in health() and the log
            }
        }
        if (droppable && deferred.size() >= MAX_DEFERRED) {
            eventsDropped++;
            return;
        }
        deferred.add(new Deferred(what, work));
    }

    /**
     * A write that must be on disk before the emperor acts on it (a new uid, address, port or
     * domain claim: giving them out twice after a crash would hand one tenant's files or traffic
     * to another). Earlier deferred records go first, so the database never sees them out of
     * order; while the state directory refuses writes this throws {@link StateNotWritable}.
     */
    private <T> T durable(String what, Work<T> work) {
        awaitDeferred(what);
        T result = inTransaction(what, work);
        recoveredIfDone();
        return result;
    }

    /** Writes the deferred records first; throws if the state directory still refuses them. */
    private void awaitDeferred(String what) {
        retryDeferred();
        StateNotWritable failure = lastFailure;
        if (!deferred.isEmpty() && failure != null) {
            throw new StateNotWritable(failure.cause(), dir, what + " waits for " + deferred.size()
                    + " earlier records to be written: " + failure.detail(), failure);
        }
    }

    /**
     * Writes deferred records, oldest first, until one fails; with nothing deferred but a
     * failure outstanding, probes with a header write so health() clears by itself once space
     * returns. Called before each write and every second by the emperor's timer.
     */
    public synchronized void retryDeferred() {
        if (lastFailure == null) return;
        while (!deferred.isEmpty()) {
            Deferred next = deferred.peek();
            try {
                inTransaction(next.what(), next.work());
            } catch (StateNotWritable e) {
                return;
            } catch (StateException e) {
                // Not a disk problem (a constraint, a bug): retrying cannot help; say so and go on.
                log.error("state database: dropping the deferred write ({}): {}", next.what(), e.getMessage());
            }
            deferred.poll();
        }
        try {
            int version = MIGRATIONS.size();
            inTransaction("probing whether the state directory takes writes again", () -> {
                try (Statement st = db.createStatement()) {
                    st.executeUpdate("PRAGMA user_version = " + version);
                }
                return null;
            });
        } catch (StateNotWritable e) {
            return;
        }
        recoveredIfDone();
    }

    private void noteFailure(StateNotWritable failure) {
        if (lastFailure == null) {
            log.error("{}; the emperor keeps running its tenants, keeps records in memory and retries every second",
                    failure.getMessage());
        }
        lastFailure = failure;
    }

    private void recoveredIfDone() {
        StateNotWritable failure = lastFailure;
        if (failure == null || !deferred.isEmpty()) return;
        lastFailure = null;
        log.info("state directory {} takes writes again; every deferred record is written{}", dir,
                eventsDropped == 0 ? "" : " (" + eventsDropped + " events were dropped meanwhile)");
        eventsDropped = 0;
        Runnable listener = onWritableAgain;
        if (listener != null) listener.run();
    }

    /** Called (under the store's lock: post, don't wait) once writes succeed again after a failure. */
    public synchronized void onWritableAgain(Runnable listener) {
        this.onWritableAgain = listener;
    }

    /**
     * "ok", or what is wrong with the state directory and what waits meanwhile, for `emperor
     * status` (its "state" line).
     */
    public synchronized String health() {
        StateNotWritable failure = lastFailure;
        if (failure == null) return "ok";
        return failure.getMessage() + "; " + deferred.size() + " records wait in memory"
                + (eventsDropped == 0 ? "" : ", " + eventsDropped + " events dropped")
                + "; new tenants wait, running ones are restarted; retried every second";
    }

    /** Records not yet written (tests). */
    synchronized int deferredCount() {
        return deferred.size();
    }

    private int queryInt(String sql) {
        try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getInt(1);
        } catch (SQLException e) {
            throw failed("running " + sql, e);
        }
    }

    private StateException failed(String what, SQLException e) {
        StateNotWritable.Cause cause = StateNotWritable.causeOf(e);
        if (cause != null) {
            StateNotWritable failure = new StateNotWritable(cause, dir, what + " failed: " + e.getMessage(), e);
            noteFailure(failure);
            return failure;
        }
        return new StateException("state database: " + what + " failed: " + e.getMessage(), e);
    }
}
