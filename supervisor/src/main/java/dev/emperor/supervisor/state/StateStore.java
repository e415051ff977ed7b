package dev.emperor.supervisor.state;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The emperor's memory across its own restarts, in one SQLite file ({@code
 * STATE_DIR/emperor.db}): opens the database ({@link StateDatabase}: connection, migrations,
 * transactions, writes while the state directory is full) and hands out one store per concern.
 * All the stores share the database's one connection and lock, so they may be used from any
 * thread of the emperor.
 */
public final class StateStore implements AutoCloseable {
    private final StateDatabase db;
    private final VassalStore vassals;
    private final UidLedger uids;
    private final AddressLedger addresses;
    private final SqlitePortLedger ports;
    private final DaemonStore daemons;
    private final MaintenanceStore maintenance;
    private final CertificateStore certificates;
    private final DomainStore domains;
    private final EventLog events;
    private final TrafficStore traffic;
    private final TenantIdentityStore identities;

    private StateStore(StateDatabase db, int eventsKept) {
        this.db = db;
        this.vassals = new VassalStore(db);
        this.uids = new UidLedger(db);
        this.addresses = new AddressLedger(db);
        this.ports = new SqlitePortLedger(db);
        this.daemons = new DaemonStore(db);
        this.maintenance = new MaintenanceStore(db);
        this.certificates = new CertificateStore(db);
        this.domains = new DomainStore(db);
        this.events = new EventLog(db, eventsKept);
        this.traffic = new TrafficStore(db);
        this.identities = new TenantIdentityStore(db);
    }

    /**
     * Opens (creating if needed) the state database in {@code stateDir}. The directory is
     * created, or tightened, to mode 0700: the database names every tenant and its uid.
     */
    public static StateStore open(Path stateDir) throws IOException {
        return open(stateDir, EventLog.KEPT_PER_VASSAL);
    }

    static StateStore open(Path stateDir, int eventsKept) throws IOException {
        return new StateStore(StateDatabase.open(stateDir), eventsKept);
    }

    /** Each vassal's desired state, process, config hash, restarts, last exit and error. */
    public VassalStore vassals() {
        return vassals;
    }

    /** Which tenant has (or had) which uid; never reused. */
    public UidLedger uids() {
        return uids;
    }

    /** Each tenant's tun0 address; never reused. */
    public AddressLedger addresses() {
        return addresses;
    }

    /** Public ports of tenant services (the proxy's PortLedger); never reused. */
    public SqlitePortLedger ports() {
        return ports;
    }

    /** Attached daemons' pids, for re-adoption after an emperor restart. */
    public DaemonStore daemons() {
        return daemons;
    }

    /** The operator's maintenance settings. */
    public MaintenanceStore maintenance() {
        return maintenance;
    }

    /** Certificate origins and ACME back-offs. */
    public CertificateStore certificates() {
        return certificates;
    }

    /** Domain claims and the operator's approvals. */
    public DomainStore domains() {
        return domains;
    }

    /** Each vassal's event history. */
    public EventLog events() {
        return events;
    }

    /** Each tenant's network and web traffic totals. */
    public TrafficStore traffic() {
        return traffic;
    }

    /** Retirement, return and purge of tenants whose file was removed. */
    public TenantIdentityStore identities() {
        return identities;
    }

    /**
     * Writes records deferred while the state directory refused writes, oldest first; called
     * every second by the emperor's timer (see {@link StateDatabase#record}).
     */
    public void retryDeferred() {
        db.retryDeferred();
    }

    /** Called (under the database's lock: post, don't wait) once writes succeed again after a failure. */
    public void onWritableAgain(Runnable listener) {
        db.onWritableAgain(listener);
    }

    /**
     * "ok", or what is wrong with the state directory and what waits meanwhile, for `emperor
     * status` (its "state" line).
     */
    public String health() {
        return db.health();
    }

    /** Records not yet written (tests). */
    int deferredCount() {
        return db.deferredCount();
    }

    /** The schema version stored in the database (tests). */
    int schemaVersion() {
        return db.schemaVersion();
    }

    /** The journal mode in effect; "wal" once opened (tests). */
    String journalMode() {
        return db.journalMode();
    }

    @Override
    public void close() {
        db.close();
    }
}
