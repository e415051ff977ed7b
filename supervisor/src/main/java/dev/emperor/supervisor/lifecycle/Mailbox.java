package dev.emperor.supervisor.lifecycle;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one tenant's events one at a time, in arrival order, on a shared executor (virtual
 * threads). Tenants never wait for each other: a slow spawn blocks only its own mailbox.
 */
final class Mailbox {
    private static final Logger log = LoggerFactory.getLogger(Mailbox.class);
    private final ConcurrentLinkedQueue<Runnable> queue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean draining = new AtomicBoolean();
    private final Executor executor;
    private final String owner;
    private final Consumer<RuntimeException> onFailure;

    Mailbox(Executor executor, String owner) {
        this(executor, owner, e -> { });
    }

    /** {@code onFailure} runs in the mailbox, right after an event that threw (before the next one). */
    Mailbox(Executor executor, String owner, Consumer<RuntimeException> onFailure) {
        this.executor = executor;
        this.owner = owner;
        this.onFailure = onFailure;
    }

    void post(Runnable event) {
        queue.add(event);
        if (draining.compareAndSet(false, true)) executor.execute(this::drain);
    }

    private void drain() {
        while (true) {
            Runnable event;
            while ((event = queue.poll()) != null) {
                try {
                    event.run();
                } catch (RuntimeException e) {
                    log.error("vassal {}: event failed: {}", owner, e.toString(), e);
                    try {
                        onFailure.accept(e);
                    } catch (RuntimeException again) {
                        log.error("vassal {}: handling a failed event: {}", owner, again.toString(), again);
                    }
                } catch (Error e) {
                    log.error("vassal {}: event failed: {}", owner, e.toString(), e);
                }
            }
            draining.set(false);
            // An event posted between the last poll and the reset would otherwise wait forever.
            if (queue.isEmpty() || !draining.compareAndSet(false, true)) return;
        }
    }
}
