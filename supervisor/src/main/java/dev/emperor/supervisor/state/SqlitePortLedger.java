package dev.emperor.supervisor.state;

import dev.emperor.proxy.l4.PortAssignment;
import dev.emperor.proxy.l4.PortLedger;
import java.util.List;
import java.util.Objects;

/** The proxy's port ledger kept in the state database (table {@code ports}). */
public final class SqlitePortLedger implements PortLedger {

    private final StateStore store;

    public SqlitePortLedger(StateStore store) {
        this.store = Objects.requireNonNull(store, "store");
    }

    @Override
    public List<PortAssignment> loadAll() {
        return store.portAssignments();
    }

    @Override
    public void record(PortAssignment assignment) {
        store.recordPort(assignment);
    }

    @Override
    public void update(PortAssignment assignment) {
        store.updatePort(assignment);
    }
}
