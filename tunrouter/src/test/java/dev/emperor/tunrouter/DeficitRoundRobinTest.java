package dev.emperor.tunrouter;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A model of the pump's use of {@link DeficitRoundRobin}: per-tenant FIFO queues of frame
 * costs with random arrivals, served one round at a time as the pump serves its tenants.
 */
class DeficitRoundRobinTest {
    /** Costs are in any unit (the pump charges nanoseconds): a quantum and the dearest frame. */
    private static final long QUANTUM = 20_000;
    private static final int MAX_FRAME = (int) PacketPump.MAX_CHARGE_NANOS;

    /** The queues of the model and what each tenant was served. */
    private static final class Model {
        final DeficitRoundRobin drr = new DeficitRoundRobin(QUANTUM);
        final ArrayDeque<Integer>[] queues;
        final long[] served;

        @SuppressWarnings("unchecked")
        Model(int tenants) {
            queues = new ArrayDeque[tenants];
            for (int i = 0; i < tenants; i++) {
                queues[i] = new ArrayDeque<>();
            }
            served = new long[tenants];
        }

        void arrive(int tenant, int cost) {
            queues[tenant].add(cost);
            drr.activate(tenant);
        }

        /** As many turns as tenants wait (PacketPump.serveOneTurn, once per pass); returns the cost served. */
        long round() {
            long total = 0;
            for (int turns = drr.size(); turns > 0; turns--) {
                int id = drr.startTurn();
                while (drr.hasBudget(id) && !queues[id].isEmpty()) {
                    int cost = queues[id].poll();
                    drr.charge(id, cost);
                    served[id] += cost;
                    total += cost;
                }
                drr.endTurn(id, !queues[id].isEmpty());
            }
            return total;
        }
    }

    @Test
    void backloggedTenantsEachGetTheirShareOfTheCostWithinOneQuantumAndAFrame() {
        Random random = new Random(14);
        for (int trial = 0; trial < 200; trial++) {
            int tenants = 2 + random.nextInt(7);
            Model model = new Model(tenants);
            // every tenant always backlogged, frames of random sizes (a flooder's small ones, a bulk tenant's large ones)
            int[] smallest = new int[tenants];
            for (int t = 0; t < tenants; t++) {
                smallest[t] = random.nextBoolean() ? 64 : 1 + random.nextInt(MAX_FRAME);
            }
            int rounds = 50 + random.nextInt(200);
            for (int r = 0; r < rounds; r++) {
                for (int t = 0; t < tenants; t++) {
                    while (model.queues[t].size() < 200) {
                        model.arrive(t, smallest[t] + random.nextInt(MAX_FRAME - smallest[t] + 1));
                    }
                }
                model.round();
            }
            long total = 0;
            for (long s : model.served) total += s;
            for (int t = 0; t < tenants; t++) {
                assertThat(Math.abs(model.served[t] - total / tenants))
                        .as("trial %d: tenant %d of %d served %d of %d", trial, t, tenants, model.served[t], total)
                        .isLessThanOrEqualTo(QUANTUM + MAX_FRAME);
            }
        }
    }

    @Test
    void aQuietTenantWaitsAtMostOneTurnOfEachFlooderWhateverTheirBacklog() {
        Random random = new Random(69);
        for (int trial = 0; trial < 200; trial++) {
            int flooders = 1 + random.nextInt(5);
            int quiet = flooders;
            Model model = new Model(flooders + 1);
            for (int f = 0; f < flooders; f++) {
                for (int i = 0; i < 10_000; i++) {
                    model.arrive(f, 64 + random.nextInt(MAX_FRAME - 64));
                }
            }
            for (int r = random.nextInt(20); r > 0; r--) {
                model.round();
            }
            // a frame of the quiet tenant arrives amid the floods: it is served within the next
            // round, after at most one turn (a quantum and one frame) of each flooder
            model.arrive(quiet, 84);
            long before = 0;
            for (long s : model.served) before += s;
            long servedBefore = model.served[quiet];
            model.round();
            assertThat(model.served[quiet]).as("trial %d", trial).isEqualTo(servedBefore + 84);
            long after = 0;
            for (long s : model.served) after += s;
            assertThat(after - before).isLessThanOrEqualTo(flooders * (QUANTUM + MAX_FRAME) + 84);
        }
    }

    @Test
    void aTenantThatWasIdleIsServedBeforeAnyBackloggedTenantsTurn() {
        Random random = new Random(7);
        for (int trial = 0; trial < 200; trial++) {
            int flooders = 1 + random.nextInt(5);
            Model model = new Model(flooders + 1);
            for (int f = 0; f < flooders; f++) {
                for (int i = 0; i < 10_000; i++) {
                    model.arrive(f, 64 + random.nextInt(MAX_FRAME - 64));
                }
            }
            // at least one round: the flooders' own first (sparse) turns are behind them
            for (int r = 1 + random.nextInt(20); r > 0; r--) {
                model.round();
            }
            model.arrive(flooders, 84);
            assertThat(model.drr.startTurn()).as("trial %d: the next turn is the quiet tenant's", trial).isEqualTo(flooders);
        }
    }

    @Test
    void aTenantGoingIdleAndBusyAgainGetsItsPriorityAtMostOncePerRoundAndStarvesNoOne() {
        Model model = new Model(3);
        for (int i = 0; i < 100_000; i++) {
            model.arrive(0, 1000);
            model.arrive(1, 1000);
        }
        model.round();
        long[] before = model.served.clone();
        for (int r = 0; r < 100; r++) {
            // one small frame before every turn: it would always be "sparse" if that were all it took
            for (int turn = 0; turn < 3; turn++) {
                model.arrive(2, 100);
                int id = model.drr.startTurn();
                while (model.drr.hasBudget(id) && !model.queues[id].isEmpty()) {
                    int cost = model.queues[id].poll();
                    model.drr.charge(id, cost);
                    model.served[id] += cost;
                }
                model.drr.endTurn(id, !model.queues[id].isEmpty());
            }
        }
        long flooder0 = model.served[0] - before[0];
        long flooder1 = model.served[1] - before[1];
        assertThat(flooder0).as("the flooders still get their turns").isGreaterThan(100 * QUANTUM / 2);
        assertThat(flooder1).isGreaterThan(100 * QUANTUM / 2);
        assertThat(Math.abs(flooder0 - flooder1)).isLessThanOrEqualTo(2 * (QUANTUM + 1000));
    }

    @Test
    void aTenantThatRanEmptyLeavesTheRoundAndEarnsNoCreditWhileIdle() {
        Model model = new Model(2);
        model.arrive(0, 100);
        for (int i = 0; i < 10; i++) {
            model.round();
        }
        assertThat(model.drr.isEmpty()).isTrue();
        for (int i = 0; i < 1000; i++) {
            model.arrive(0, 1000);
            model.arrive(1, 1000);
        }
        model.round();
        assertThat(model.served[0] - 100).isEqualTo(model.served[1]);
    }

    @Test
    void aRemovedTenantLeavesTheRoundAndTheOthersKeepTheirOrder() {
        DeficitRoundRobin drr = new DeficitRoundRobin(QUANTUM);
        for (int id : new int[] {3, 40, 7, 1}) {
            drr.activate(id);
        }
        drr.activate(40); // already in: no second place
        drr.remove(40);
        assertThat(drr.size()).isEqualTo(3);
        assertThat(drr.startTurn()).isEqualTo(3);
        assertThat(drr.startTurn()).isEqualTo(7);
        assertThat(drr.startTurn()).isEqualTo(1);
        assertThat(drr.startTurn()).isEqualTo(-1);
    }
}
