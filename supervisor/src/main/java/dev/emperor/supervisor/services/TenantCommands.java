package dev.emperor.supervisor.services;

import dev.emperor.jail.ExitStatus;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Starts commands inside one running tenant, as the tenant (its uid, seccomp policy and
 * environment, output to its log), each in a session of its own. {@code onExit} is called once
 * when the command ends, on the same one-at-a-time path as the {@link TaskTimer}'s tasks.
 */
public interface TenantCommands {
    /** A command that was started (or adopted). */
    interface Running {
        int pid();

        /** Start time in clock ticks since boot; with the pid it names the process for good. */
        long startTime();

        /** Sends sig to the command's process group; does nothing once it has exited. */
        void signal(int sig);
    }

    /** @throws RuntimeException if it could not be started (the tenant stopped, no such program...) */
    Running start(List<String> argv, Consumer<ExitStatus> onExit);

    /** Re-attaches to a command started by an earlier emperor, if that very process still runs in the tenant. */
    Optional<Running> adopt(int pid, long startTime, Consumer<ExitStatus> onExit);
}
