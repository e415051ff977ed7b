package dev.emperor.tunrouter;

/**
 * A tenant's {@code net-rate}: bytes per second, with a burst of up to {@link #burstBytes()}.
 * A frame may pass while the bucket holds any tokens and then takes its whole size, so the
 * bucket may go into debt by one frame (a 64 KiB TCP super-packet must pass even at a low
 * rate); the debt is paid back before the next frame passes. The average therefore stays at
 * the rate. Time comes from the caller ({@link System#nanoTime()}), so tests need no clock.
 * One thread.
 */
final class TokenBucket {
    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    /** A burst is this much time at the rate, but at least one largest frame. */
    private static final long BURST_NANOS = 100_000_000L;
    private static final long MIN_BURST_BYTES = 65_536;

    private final long bytesPerSecond;
    private final long burstBytes;
    private double tokens;
    private long lastNanos;

    TokenBucket(long bytesPerSecond, long nowNanos) {
        if (bytesPerSecond < 1) {
            throw new IllegalArgumentException("rate of " + bytesPerSecond + " bytes/s: must be at least 1");
        }
        this.bytesPerSecond = bytesPerSecond;
        this.burstBytes = Math.max(MIN_BURST_BYTES, (long) ((double) bytesPerSecond * BURST_NANOS / NANOS_PER_SECOND));
        this.tokens = burstBytes;
        this.lastNanos = nowNanos;
    }

    long bytesPerSecond() {
        return bytesPerSecond;
    }

    long burstBytes() {
        return burstBytes;
    }

    /** Whether a frame may pass now. */
    boolean mayPass(long nowNanos) {
        refill(nowNanos);
        return tokens > 0;
    }

    /** Takes a frame that passed. */
    void take(long bytes) {
        tokens -= bytes;
    }

    /** How long until a frame may pass again (0 if it may now). */
    long nanosUntilPass(long nowNanos) {
        refill(nowNanos);
        if (tokens > 0) {
            return 0;
        }
        return (long) Math.ceil((1 - tokens) * NANOS_PER_SECOND / bytesPerSecond);
    }

    private void refill(long nowNanos) {
        long elapsed = nowNanos - lastNanos;
        if (elapsed > 0) {
            tokens = Math.min(burstBytes, tokens + (double) elapsed * bytesPerSecond / NANOS_PER_SECOND);
            lastNanos = nowNanos;
        }
    }
}
