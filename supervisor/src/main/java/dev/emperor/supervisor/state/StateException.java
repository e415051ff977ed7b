package dev.emperor.supervisor.state;

/** The state database failed (disk full, corrupt file, ...); nothing the caller can fix in code. */
public class StateException extends RuntimeException {
    public StateException(String message) {
        super(message);
    }

    public StateException(String message, Throwable cause) {
        super(message, cause);
    }
}
