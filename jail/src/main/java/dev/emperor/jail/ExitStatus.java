package dev.emperor.jail;

/**
 * How a process ended. {@code known} is false for a process the emperor adopted after a
 * restart: it was not our child, so the kernel does not tell us its status.
 * The pid-1 helper reports a payload killed by signal N as exit code 128+N (as shells do).
 */
public record ExitStatus(boolean known, int code, int signal) {
    public static final ExitStatus UNKNOWN = new ExitStatus(false, -1, 0);

    public static ExitStatus exited(int code) {
        return new ExitStatus(true, code, 0);
    }

    public static ExitStatus killed(int signal) {
        return new ExitStatus(true, -1, signal);
    }

    /** The payload's own view: a code, or the signal recovered from a 128+N code. */
    public String describe() {
        if (!known) return "exit status unknown (process was adopted)";
        if (signal != 0) return "killed by signal " + signal;
        if (code > 128 && code < 128 + 65) return "exit code " + code + " (signal " + (code - 128) + ")";
        return "exit code " + code;
    }
}
