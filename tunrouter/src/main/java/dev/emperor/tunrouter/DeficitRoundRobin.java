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
 *
 * <p>Sparse tenants first (as fq_codel's new flows): a tenant that becomes backlogged after
 * being idle joins a list served before the round, so a quiet tenant's packet (a ping, a DNS
 * query, a TCP ACK) waits for no flooder's turn at all. After that first turn it goes to the
 * end of the round even if it ran empty, and leaves only when found empty there: a tenant that
 * goes idle and busy again and again gets that priority at most once per round, so the round
 * is never starved. Pure logic, one thread, no allocation after a tenant id was first seen.
 */
final class DeficitRoundRobin {
    private final long quantum;
    private long[] deficit = new long[16];
    /** Whether the tenant is in one of the two lists. */
    private boolean[] queued = new boolean[16];
    /** Whether the tenant's turn now being served came from the sparse list. */
    private boolean[] sparseTurn = new boolean[16];
    /** Tenants that just became backlogged after being idle: served first. */
    private final IdRing sparse = new IdRing();
    /** The round: backlogged tenants in turn. */
    private final IdRing round = new IdRing();

    /** @param quantum the cost a tenant may be served per turn; at least the largest frame's cost */
    DeficitRoundRobin(long quantum) {
        if (quantum < 1) {
            throw new IllegalArgumentException("quantum " + quantum + ": must be at least 1");
        }
        this.quantum = quantum;
    }

    /**
     * The tenant has something to serve: unless it waits already, it joins the sparse tenants,
     * served ahead of the round.
     */
    void activate(int id) {
        grow(id);
        if (queued[id]) {
            return;
        }
        queued[id] = true;
        deficit[id] = 0;
        sparse.add(id);
    }

    /** Whether no tenant is waiting. */
    boolean isEmpty() {
        return sparse.size == 0 && round.size == 0;
    }

    /** How many tenants wait (one round is at most this many turns). */
    int size() {
        return sparse.size + round.size;
    }

    /**
     * Takes the next tenant (a sparse one first, else the head of the round) and adds a quantum
     * to its deficit; -1 if none waits.
     */
    int startTurn() {
        boolean fromSparse = sparse.size > 0;
        if (!fromSparse && round.size == 0) {
            return -1;
        }
        int id = fromSparse ? sparse.poll() : round.poll();
        queued[id] = false;
        sparseTurn[id] = fromSparse;
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
     * Ends the tenant's turn: still backlogged, or coming from the sparse list, it goes to the
     * end of the round with what is left of its deficit (or its debt); otherwise it leaves and
     * its deficit is dropped.
     */
    void endTurn(int id, boolean stillBacklogged) {
        if (stillBacklogged || sparseTurn[id]) {
            sparseTurn[id] = false;
            queued[id] = true;
            round.add(id);
        } else {
            deficit[id] = 0;
        }
    }

    /** The tenant is gone (detached): it leaves at once. */
    void remove(int id) {
        if (id >= queued.length || !queued[id]) {
            return;
        }
        sparse.remove(id);
        round.remove(id);
        queued[id] = false;
        sparseTurn[id] = false;
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
            sparseTurn = Arrays.copyOf(sparseTurn, length);
        }
    }

    /** A FIFO ring of tenant ids, each at most once; grows, never shrinks. */
    private static final class IdRing {
        private int[] ids = new int[16];
        private int head;
        private int size;

        void add(int id) {
            if (size == ids.length) {
                int[] bigger = new int[ids.length * 2];
                for (int i = 0; i < size; i++) {
                    bigger[i] = ids[(head + i) % ids.length];
                }
                ids = bigger;
                head = 0;
            }
            ids[(head + size) % ids.length] = id;
            size++;
        }

        int poll() {
            int id = ids[head];
            head = (head + 1) % ids.length;
            size--;
            return id;
        }

        void remove(int id) {
            int kept = 0;
            for (int i = 0; i < size; i++) {
                int other = ids[(head + i) % ids.length];
                if (other != id) {
                    ids[(head + kept) % ids.length] = other;
                    kept++;
                }
            }
            size = kept;
        }
    }
}
