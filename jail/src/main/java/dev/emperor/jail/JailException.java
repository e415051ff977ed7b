package dev.emperor.jail;

/**
 * A jail operation failed. The message names the step and the path it was working on
 * (e.g. "mount /tmp in tenant alice: tmpfs: No space left on device"), so an operator can
 * act on it without reading code.
 */
public class JailException extends RuntimeException {
    private final String step;

    public JailException(String step, String detail) {
        super(step + ": " + detail);
        this.step = step;
    }

    public JailException(String step, String detail, Throwable cause) {
        super(step + ": " + detail, cause);
        this.step = step;
    }

    /** The set-up step that failed, e.g. "pivot_root" or "cgroup memory.max". */
    public String step() {
        return step;
    }
}
