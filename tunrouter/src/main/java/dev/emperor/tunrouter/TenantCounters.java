package dev.emperor.tunrouter;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Traffic of one tenant: packets and bytes it sent out and received in, counted as on the wire
 * (not as offload super-packets), and the frames dropped (either way) per {@link DropReason}. Counting is lock-free and allocation-free; a
 * {@link #snapshot()} may be taken from any thread at any time.
 */
public final class TenantCounters {
    private final LongAdder packetsIn = new LongAdder();
    private final LongAdder bytesIn = new LongAdder();
    private final LongAdder packetsOut = new LongAdder();
    private final LongAdder bytesOut = new LongAdder();
    private final LongAdder[] drops = new LongAdder[DropReason.count()];

    public TenantCounters() {
        for (int i = 0; i < drops.length; i++) {
            drops[i] = new LongAdder();
        }
    }

    /**
     * A frame delivered to the tenant, as the wire would carry it: {@code packets} packets of
     * {@code bytes} in all (a TCP super-packet is the segments it is cut into, each with its
     * own headers).
     */
    public void countIn(int packets, int bytes) {
        packetsIn.add(packets);
        bytesIn.add(bytes);
    }

    /** A frame from the tenant sent on to the gateway, counted as {@link #countIn} does. */
    public void countOut(int packets, int bytes) {
        packetsOut.add(packets);
        bytesOut.add(bytes);
    }

    public void countDrop(DropReason reason) {
        drops[reason.ordinal()].increment();
    }

    public Snapshot snapshot() {
        EnumMap<DropReason, Long> dropped = new EnumMap<>(DropReason.class);
        for (int i = 0; i < drops.length; i++) {
            long n = drops[i].sum();
            if (n != 0) {
                dropped.put(DropReason.ofOrdinal(i), n);
            }
        }
        return new Snapshot(packetsIn.sum(), bytesIn.sum(), packetsOut.sum(), bytesOut.sum(),
                Collections.unmodifiableMap(dropped));
    }

    /** Counter values at one moment (each counter is exact; they are not read atomically together). */
    public record Snapshot(long packetsIn, long bytesIn, long packetsOut, long bytesOut, Map<DropReason, Long> drops) {
        public long drops(DropReason reason) {
            return drops.getOrDefault(reason, 0L);
        }

        public long totalDrops() {
            long total = 0;
            for (long n : drops.values()) {
                total += n;
            }
            return total;
        }
    }
}
