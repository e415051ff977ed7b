package dev.emperor.supervisor.lifecycle;

import dev.emperor.supervisor.state.Desired;
import dev.emperor.supervisor.state.EventKind;
import dev.emperor.supervisor.state.TenantIdentityStore;
import java.time.Instant;
import java.util.Optional;

/** What a vassal records of its tenant on disk (the state store), and reads back. */
public interface VassalRecords {
    /** The parts of the tenant's row a vassal reads. */
    record Recorded(Desired desired, int restarts, String lastExit, String configHash, int uid, int gid) {}

    Optional<Recorded> recorded(String name);

    void setDesired(String name, Desired desired);

    void recordSpawn(String name, int pid, long startTime, String configHash, int uid, int gid);

    void recordConfigHash(String name, String configHash);

    void recordExit(String name, String lastExit, boolean countsAsRestart);

    /** The current problem shown as lastError, or null once healthy. */
    void recordError(String name, String error);

    /** The tenant's daemons are gone with its payload. */
    void forgetDaemons(String name);

    void event(String name, EventKind kind, String detail);

    /** A file of this name is here: whether it is a new, restored or known tenant. */
    TenantIdentityStore.Arrival arrive(String name);

    /** The file is gone and the tenant stopped; false if it was retired already. */
    boolean retire(String name, Instant at);
}
