package dev.emperor.tunrouter;

import java.util.Arrays;

/**
 * Deficit round robin (Shreedhar and Varghese) over tenant ids: which backlogged tenant the
 * pump serves next, and for how much. Each turn adds a quantum to the tenant's deficit; the
 * pump serves frames while the deficit is above zero and charges each frame's cost, so the
 * deficit may go below zero by one frame and the debt is paid in the next turns. A tenant whose
 * queue ran empty leaves the round and its deficit is forgotten: idle time earns no credit.
 *
 * <p>Why: one tenant flooding must not take the pump from the others. With N backlogged tenants
 * each gets within one quantum plus one frame of 1/N of the cost served, and a tenant that
 * becomes backlogged waits at most one round (one quantum plus one frame per other tenant).
 * Pure logic, one thread, no allocation after a tenant id was first seen.
 */
final class DeficitRoundRobin {
    private final long quantum;
    private long[] deficit = new long[16];
    private boolean[] queued = new boolean[16];
    /** The round: a ring of tenant ids, each at most once. */
    private int[] ring = new int[16];
    private int head;
    private int size;

    /** @param quantum the cost a tenant may be served per turn; at least the largest frame's cost */
    DeficitRoundRobin(long quantum) {
        if (quantum < 1) {
            throw new IllegalArgumentException("quantum " + quantum + ": must be at least 1");
        }
        this.quantum = quantum;
    }

    /** The tenant has something to serve: it joins the end of the round unless it is in it already. */
    void activate(int id) {
        grow(id);
        if (queued[id]) {
            return;
        }
        queued[id] = true;
        deficit[id] = 0;
        if (size == ring.length) {
            int[] bigger = new int[ring.length * 2];
            for (int i = 0; i < size; i++) {
                bigger[i] = ring[(head + i) % ring.length];
            }
            ring = bigger;
            head = 0;
        }
        ring[(head + size) % ring.length] = id;
        size++;
    }

    /** Whether no tenant is waiting. */
    boolean isEmpty() {
        return size == 0;
    }

    /** How many tenants are in the round (one round is this many turns). */
    int size() {
        return size;
    }

    /** Takes the next tenant out of the round and adds a quantum to its deficit; -1 if none waits. */
    int startTurn() {
        if (size == 0) {
            return -1;
        }
        int id = ring[head];
        head = (head + 1) % ring.length;
        size--;
        queued[id] = false;
        deficit[id] += quantum;
        return id;
    }

    /** Whether the tenant whose turn it is may be served another frame. */
    boolean hasBudget(int id) {
        return deficit[id] > 0;
    }

    /** Charges a frame served to the tenant. */
    void charge(int id, long cost) {
        deficit[id] -= cost;
    }

    /**
     * Ends the tenant's turn: still backlogged, it goes to the end of the round with what is left
     * of its deficit (or its debt); otherwise it leaves the round and its deficit is dropped.
     */
    void endTurn(int id, boolean stillBacklogged) {
        if (stillBacklogged) {
            long keep = deficit[id];
            activate(id);
            deficit[id] = keep;
        } else {
            deficit[id] = 0;
        }
    }

    /** The tenant is gone (detached): it leaves the round at once. */
    void remove(int id) {
        if (id >= queued.length || !queued[id]) {
            return;
        }
        int kept = 0;
        for (int i = 0; i < size; i++) {
            int other = ring[(head + i) % ring.length];
            if (other != id) {
                ring[(head + kept) % ring.length] = other;
                kept++;
            }
        }
        size = kept;
        queued[id] = false;
        deficit[id] = 0;
    }

    private void grow(int id) {
        if (id < 0) {
            throw new IllegalArgumentException("tenant id " + id + " is negative");
        }
        if (id >= deficit.length) {
            int length = Math.max(deficit.length * 2, id + 1);
            deficit = Arrays.copyOf(deficit, length);
            queued = Arrays.copyOf(queued, length);
        }
    }
}
