package dev.emperor.proxy.l4;

import java.util.ArrayList;
import java.util.List;

/** A ledger in a list, with the same uniqueness rules the SQLite one enforces. */
final class MemoryPortLedger implements PortLedger {

    final List<PortAssignment> rows = new ArrayList<>();
    int writes;
    boolean failNextRecord;

    @Override
    public synchronized List<PortAssignment> loadAll() {
        return List.copyOf(rows);
    }

    @Override
    public synchronized void record(PortAssignment a) {
        if (failNextRecord) {
            failNextRecord = false;
            throw new IllegalStateException("disk full");
        }
        for (PortAssignment r : rows) {
            if (r.publicPort() == a.publicPort()
                    || (r.tenant().equals(a.tenant()) && r.service().equals(a.service()))) {
                throw new IllegalStateException("duplicate " + a);
            }
        }
        rows.add(a);
        writes++;
    }

    @Override
    public synchronized void update(PortAssignment a) {
        for (int i = 0; i < rows.size(); i++) {
            PortAssignment r = rows.get(i);
            if (r.tenant().equals(a.tenant()) && r.service().equals(a.service())) {
                if (r.publicPort() != a.publicPort()) {
                    throw new IllegalStateException("port of " + a + " changed");
                }
                rows.set(i, a);
                writes++;
                return;
            }
        }
        throw new IllegalStateException("no row for " + a);
    }
}
