package dev.emperor.supervisor.logs;

/**
 * The per-tenant bounds of its log: each file at most {@code maxSize} bytes, {@code keep} old
 * parts, {@code rate} bytes per second (burst: one second's worth).
 */
public record LogLimits(long maxSize, int keep, long rate) {
    /** Longest line kept whole; a longer one is cut (so is one longer than maxSize). */
    static final int MAX_LINE_BYTES = 16 * 1024;

    public LogLimits {
        if (maxSize < 1024 || keep < 0 || rate <= 0) {
            throw new IllegalArgumentException("bad log limits: max size " + maxSize + ", keep " + keep + ", rate " + rate);
        }
    }

    /** The longest line (newline included) that may go on disk: it always fits in an empty file. */
    int lineCap() {
        return (int) Math.min(MAX_LINE_BYTES, maxSize);
    }
}
