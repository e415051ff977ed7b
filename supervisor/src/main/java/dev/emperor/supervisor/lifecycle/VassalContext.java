package dev.emperor.supervisor.lifecycle;

import dev.emperor.supervisor.services.TaskTimer;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * What a {@link Vassal} needs, as small interfaces of its own (so it runs in a unit test with
 * fakes of them); {@link HostVassalContext} provides them from the emperor's services.
 */
public interface VassalContext {
    LifecycleSettings settings();

    VassalRecords records();

    TenantResources resources();

    PayloadRunner payloads();

    TenantNotes notes();

    /** Timers for grace periods and back-off; their tasks only post to the vassal's mailbox. */
    TaskTimer timer();

    InstantSource clock();

    /** Runs mailboxes (virtual threads). */
    Executor mailboxExecutor();

    /**
     * The vassal's state changed ({@code retryAt}: when a backing-off vassal tries again, else
     * null): the front proxy answers its site with 503 at once while its app cannot answer.
     */
    void stateChanged(String name, VassalState state, Instant retryAt);

    /**
     * Called once a removed vassal has stopped and cleaned up. A non-null {@code replay} is the
     * file event that came while it stopped: a new vassal of the same name takes its place and
     * gets it before any later event.
     */
    void forget(Vassal vassal, Consumer<Vassal> replay);
}
