package dev.emperor.supervisor.state;

/** What the operator wants for a vassal, independent of what is running right now. */
public enum Desired {
    RUN("run"),
    STOP("stop");

    private final String stored;

    Desired(String stored) {
        this.stored = stored;
    }

    /** The value kept in the database. */
    String stored() {
        return stored;
    }

    static Desired fromStored(String value) {
        for (Desired d : values()) {
            if (d.stored.equals(value)) {
                return d;
            }
        }
        throw new StateException("unknown desired state in database: " + value);
    }
}
