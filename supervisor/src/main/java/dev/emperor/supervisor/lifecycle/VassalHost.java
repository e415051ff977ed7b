package dev.emperor.supervisor.lifecycle;

import dev.emperor.jail.PidfdReaper;
import dev.emperor.supervisor.config.EmperorConfig;
import dev.emperor.supervisor.logs.TenantLogs;
import dev.emperor.supervisor.state.StateStore;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Consumer;

/** The emperor's services, as it gives them to its vassals ({@link HostVassalContext} narrows them to a {@link VassalContext}). */
public interface VassalHost {
    /** The current emperor.ini (replaced on SIGHUP). */
    EmperorConfig config();

    StateStore store();

    TenantLauncher launcher();

    PidfdReaper reaper();

    TenantLogs logs();

    /** Timers for grace periods and back-off; tasks only post to mailboxes. */
    ScheduledExecutorService timers();

    /** Runs mailboxes (virtual threads). */
    Executor mailboxExecutor();

    /**
     * The vassal's state changed ({@code retryAt}: when a backing-off vassal tries again, else
     * null): the front proxy answers its site with 503 at once while its app cannot answer.
     */
    void stateChanged(String name, VassalState state, java.time.Instant retryAt);

    /**
     * Called once a removed vassal has stopped and cleaned up. A non-null {@code replay} is the
     * file event that came while it stopped: a new vassal of the same name takes its place and
     * gets it before any later event.
     */
    void forget(Vassal vassal, Consumer<Vassal> replay);
}
