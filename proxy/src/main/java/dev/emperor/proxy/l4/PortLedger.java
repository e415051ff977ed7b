package dev.emperor.proxy.l4;

import java.util.List;

/**
 * Where {@link PortAllocator} keeps its assignments so they outlive the emperor (the supervisor
 * implements it on its SQLite state). Assignments are never deleted: a port once recorded is
 * never recorded again for another (tenant, service).
 */
public interface PortLedger {

    /** Every assignment ever recorded, released ones included. */
    List<PortAssignment> loadAll();

    /**
     * Records a new assignment atomically. Must fail (throw, recording nothing) if the port or
     * the (tenant, service) pair already has a row, so even a bug cannot double-assign.
     */
    void record(PortAssignment assignment);

    /** Stores a changed protocol or released flag of an assignment already recorded. */
    void update(PortAssignment assignment);
}
