package dev.emperor.supervisor.state;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;

/**
 * The state database's core: the one SQLite connection, its pragmas, the migrations of
 * {@link StateSchema}, transactions, and what happens to a write while the state directory
 * refuses writes. The per-concern stores ({@link VassalStore}, {@link UidLedger}, ...) hand
 * their SQL to it as {@link Work}.
 *
 * <p>Durability: WAL journal with {@code synchronous=NORMAL}. Every write commits before it
 * returns, and a committed WAL transaction survives the emperor being killed ({@code kill -9},
 * a JVM crash) because the data is already in the kernel's page cache. Only an OS crash or power
 * loss can lose the last few transactions, which {@code FULL} would prevent at the cost of an
 * fsync per write; after such a crash the emperor re-reads the vassal files and /proc anyway.
 *
 * <p>One connection, one writer: every method is synchronized on this object, and it is the
 * lock of all the stores (see {@link #atomically}), so they may be shared by all threads.
 *
 * <p>Writes come in three kinds. A {@linkplain #record record} of what happened (a pid, an
 * exit, an event) never fails for a full disk: it is kept in memory, in order, and written once
 * the directory takes writes again. A {@linkplain #durable durable} write (a new uid, address,
 * port, domain claim) must be on disk before the emperor acts on it, so it waits for earlier
 * records and throws {@link StateNotWritable} while the directory refuses it. An {@linkplain
 * #immediate immediate} write (the operator's word) is refused the same way, outside a
 * transaction.
 */
final class StateDatabase implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StateDatabase.class);

    private static final String DB_FILE = "emperor.db";
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");

    /** Deferred records kept at most before events (only) are dropped; each is a few hundred bytes. */
    static final int MAX_DEFERRED = 10_000;

    /** SQL run against the connection; the database turns its SQLException into a StateException. */
    interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    private record Deferred(String what, Work<?> work) {}

    private final Connection db;
    private final Path dir;
    /** Records the state directory refused, oldest first (see {@link #record}). */
    private final ArrayDeque<Deferred> deferred = new ArrayDeque<>();
    private long eventsDropped;
    /** The last refused write while the state directory refuses writes; null when it takes them. */
    private volatile StateNotWritable lastFailure;
    private Runnable onWritableAgain;

    private StateDatabase(Connection db, Path dir) {
        this.db = db;
        this.dir = dir;
    }

    /**
     * Opens (creating if needed) the database in {@code stateDir} and brings its schema up to
     * date. The directory is created, or tightened, to mode 0700: the database names every
     * tenant and its uid.
     */
    static StateDatabase open(Path stateDir) throws IOException {
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
        StateDatabase database = new StateDatabase(connection, dir);
        try {
            String mode = database.journalMode();
            if (!mode.equalsIgnoreCase("wal")) {
                // e.g. a file system without shared memory support; we would silently lose
                // the crash guarantees the rest of the emperor relies on.
                throw new IOException("state database " + file + " cannot use WAL (journal_mode is " + mode + ")");
            }
            database.migrate(file);
        } catch (IOException | RuntimeException e) {
            database.close();
            throw e;
        }
        return database;
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
        if (version > StateSchema.version()) {
            throw new IOException("state database " + file + " has schema version " + version
                    + ", newer than this emperor understands (" + StateSchema.version() + ")");
        }
        for (int v = version; v < StateSchema.version(); v++) {
            List<String> steps = StateSchema.MIGRATIONS.get(v);
            int next = v + 1;
            transaction("writing", c -> {
                try (Statement st = c.createStatement()) {
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
        return read("running PRAGMA user_version", c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("PRAGMA user_version")) {
                rs.next();
                return rs.getInt(1);
            }
        });
    }

    /** The journal mode in effect; "wal" once opened. */
    synchronized String journalMode() {
        return read("reading journal mode", c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("PRAGMA journal_mode")) {
                rs.next();
                return rs.getString(1);
            }
        });
    }

    // ---- reads and writes -------------------------------------------------------------------

    /** Runs several steps of a store under the database's lock, so nothing comes between them. */
    synchronized <T> T atomically(Supplier<T> steps) {
        return steps.get();
    }

    /** Runs a query (or a write that needs no transaction of its own); {@code what} names it in a failure. */
    synchronized <T> T read(String what, Work<T> work) {
        try {
            return work.run(db);
        } catch (SQLException e) {
            throw failed(what, e);
        }
    }

    /**
     * Runs {@code work} as one transaction: all of it is committed, or none of it; {@code what}
     * names it in a failure. The first error is the one reported: on a full disk SQLite has
     * often rolled back already, and the rollback's own "no transaction is active" used to hide
     * the SQLITE_FULL behind it. Unlike {@link #record} this fails while the directory refuses
     * writes (used for counters that are written again anyway).
     */
    synchronized <T> T transaction(String what, Work<T> work) {
        try {
            db.setAutoCommit(false);
            try {
                T result = work.run(db);
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

    /**
     * A record of what happened (a vassal's pid, exit, error, events, daemons, released names):
     * written now if the state directory takes it, else kept in memory, in order, and written by
     * {@link #retryDeferred()} once it does. Never fails for a full or failing disk: the emperor
     * keeps acting (restarting a known tenant, applying a change) and writes the record later.
     * {@code droppable} records (events) beyond {@link #MAX_DEFERRED} are dropped and counted.
     */
    synchronized void record(String what, boolean droppable, Work<?> work) {
        retryDeferred();
        if (deferred.isEmpty()) {
            try {
                transaction(what, work);
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
    synchronized <T> T durable(String what, Work<T> work) {
        awaitDeferred(what);
        T result = transaction(what, work);
        recoveredIfDone();
        return result;
    }

    /**
     * The operator's word (a maintenance setting, a domain approval): written now, outside a
     * transaction, after every deferred record, or refused with {@link StateNotWritable} naming
     * {@code awaiting} while the directory refuses writes; {@code what} names a failure.
     */
    synchronized <T> T immediate(String awaiting, String what, Work<T> work) {
        awaitDeferred(awaiting);
        return read(what, work);
    }

    // ---- writes while the state directory is full -------------------------------------------

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
    synchronized void retryDeferred() {
        if (lastFailure == null) return;
        while (!deferred.isEmpty()) {
            Deferred next = deferred.peek();
            try {
                transaction(next.what(), next.work());
            } catch (StateNotWritable e) {
                return;
            } catch (StateException e) {
                // Not a disk problem (a constraint, a bug): retrying cannot help; say so and go on.
                log.error("state database: dropping the deferred write ({}): {}", next.what(), e.getMessage());
            }
            deferred.poll();
        }
        try {
            int version = StateSchema.version();
            transaction("probing whether the state directory takes writes again", c -> {
                try (Statement st = c.createStatement()) {
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

    /** Called (under the database's lock: post, don't wait) once writes succeed again after a failure. */
    synchronized void onWritableAgain(Runnable listener) {
        this.onWritableAgain = listener;
    }

    /** "ok", or what is wrong with the state directory and what waits meanwhile. */
    synchronized String health() {
        StateNotWritable failure = lastFailure;
        if (failure == null) return "ok";
        return failure.getMessage() + "; " + deferred.size() + " records wait in memory"
                + (eventsDropped == 0 ? "" : ", " + eventsDropped + " events dropped")
                + "; new tenants wait, running ones are restarted; retried every second";
    }

    /** Records not yet written. */
    synchronized int deferredCount() {
        return deferred.size();
    }

    @Override
    public synchronized void close() {
        try {
            db.close();
        } catch (SQLException e) {
            throw failed("closing", e);
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
