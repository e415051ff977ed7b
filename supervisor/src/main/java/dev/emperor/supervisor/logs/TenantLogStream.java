package dev.emperor.supervisor.logs;

import java.io.IOException;
import java.util.function.Supplier;

/**
 * What the pump knows of one tenant's pipe: the unfinished line, the rate budget and what was
 * dropped over it. Lines go to the tenant's own {@link LogFile}; nothing here is shared with
 * another tenant. Used by the pump thread only, except {@link #pipe()}.
 */
final class TenantLogStream {
    /** An unfinished line (no newline yet) is written as a line after this much quiet. */
    static final long UNFINISHED_LINE_NANOS = 1_000_000_000L;
    /** At most one "dropped" note per second and tenant. */
    private static final long DROP_NOTE_INTERVAL_NANOS = 1_000_000_000L;

    private final String name;
    private final LogPipe pipe;
    private final LogFile file;
    private final Supplier<LogLimits> limits;
    private final byte[] pending = new byte[LogLimits.MAX_LINE_BYTES];
    private int pendingLength;
    private final byte[] formatted = new byte[4 * LogLimits.MAX_LINE_BYTES + 16];
    private long lastInput;
    private double tokens;
    private long lastRefill;
    private long droppedLines;
    private long droppedBytes;
    private long lastDropNote;
    /** Bytes read in the pump's current tick, and whether the pump stopped reading for its rest. */
    long readThisTick;
    boolean paused;

    TenantLogStream(String name, LogPipe pipe, LogFile file, Supplier<LogLimits> limits, long now) {
        this.name = name;
        this.pipe = pipe;
        this.file = file;
        this.limits = limits;
        this.lastInput = now;
        this.lastRefill = now;
        this.lastDropNote = now;
        this.tokens = bucketSize(limits.get());
    }

    String name() {
        return name;
    }

    LogPipe pipe() {
        return pipe;
    }

    /**
     * How much the pump reads of this pipe per second: twice log-rate, and at least 8 MiB. Past
     * it, the tenant's writes wait in the pipe: a flood costs the emperor a bounded amount of
     * reading and dropping, however fast the tenant writes.
     */
    long readBudgetPerSecond() {
        return Math.max(8L << 20, 2 * limits.get().rate());
    }

    /** {@code length} bytes just read from the pipe. */
    void consume(byte[] bytes, int length, long now) throws IOException {
        LogLimits current = limits.get();
        refill(current, now);
        lastInput = now;
        synchronized (file) {
            int start = 0;
            for (int i = 0; i < length; i++) {
                if (bytes[i] != '\n') continue;
                if (pendingLength == 0) {
                    line(bytes, start, i - start, current);
                } else {
                    keep(bytes, start, i - start, current);
                    line(pending, 0, pendingLength, current);
                    pendingLength = 0;
                }
                start = i + 1;
            }
            keep(bytes, start, length - start, current);
            noteDropsIfDue(current, now, false);
            file.flush();
        }
    }

    /** Once a second or so: an unfinished line that waited long enough is written, and a due drop note. */
    void tick(long now) throws IOException {
        LogLimits current = limits.get();
        synchronized (file) {
            if (pendingLength > 0 && now - lastInput >= UNFINISHED_LINE_NANOS) {
                refill(current, now);
                line(pending, 0, pendingLength, current);
                pendingLength = 0;
            }
            noteDropsIfDue(current, now, false);
            file.flush();
        }
    }

    /** The pipe ended (or the emperor stops): the unfinished line and the drop count are written. */
    void finish(long now) throws IOException {
        LogLimits current = limits.get();
        synchronized (file) {
            if (pendingLength > 0) {
                refill(current, now);
                line(pending, 0, pendingLength, current);
                pendingLength = 0;
            }
            noteDropsIfDue(current, now, true);
            file.flush();
        }
    }

    /** Appends to the unfinished line; a full one is written as a line of its own (cut). */
    private void keep(byte[] bytes, int from, int length, LogLimits current) throws IOException {
        while (length > 0) {
            int n = Math.min(length, pending.length - pendingLength);
            System.arraycopy(bytes, from, pending, pendingLength, n);
            pendingLength += n;
            from += n;
            length -= n;
            if (pendingLength == pending.length) {
                line(pending, 0, pendingLength, current);
                pendingLength = 0;
            }
        }
    }

    /** One tenant line: formatted, then written if the rate allows, else counted. */
    private void line(byte[] raw, int offset, int length, LogLimits current) throws IOException {
        int n = LogLineFormat.tenantLine(raw, offset, length, formatted, current.lineCap());
        if (tokens >= n) {
            tokens -= n;
            file.add(formatted, 0, n, current);
        } else {
            droppedLines++;
            droppedBytes += n;
        }
    }

    private void noteDropsIfDue(LogLimits current, long now, boolean force) throws IOException {
        if (droppedLines == 0 || (!force && now - lastDropNote < DROP_NOTE_INTERVAL_NANOS)) return;
        byte[] note = LogLineFormat.note("dropped " + droppedLines + " lines (" + droppedBytes
                + " bytes) over log-rate (" + current.rate() + " bytes/s)", current.lineCap());
        file.add(note, 0, note.length, current);
        droppedLines = 0;
        droppedBytes = 0;
        lastDropNote = now;
    }

    private void refill(LogLimits current, long now) {
        tokens = Math.min(bucketSize(current), tokens + (now - lastRefill) * (current.rate() / 1e9));
        lastRefill = now;
    }

    /** One second's worth, and never less than one whole line. */
    private static double bucketSize(LogLimits limits) {
        return Math.max(limits.rate(), limits.lineCap());
    }
}
