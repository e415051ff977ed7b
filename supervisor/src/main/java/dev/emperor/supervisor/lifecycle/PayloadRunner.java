package dev.emperor.supervisor.lifecycle;

import dev.emperor.jail.ExitStatus;
import dev.emperor.supervisor.config.ConfigError;
import dev.emperor.supervisor.config.VassalConfig;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/** Starts, watches and kills a tenant's payload. */
public interface PayloadRunner {
    /** A payload just started, and the uid and gid it runs as. */
    record Spawned(Payload payload, int uid, int gid) {}

    /** Sets up the jail and execs the payload (slow: a vassal calls it from its own mailbox only). */
    Spawned spawn(VassalConfig cfg) throws ConfigError;

    /** Calls {@code onExit} (from any thread) once the payload has exited. */
    void watch(Payload payload, Consumer<ExitStatus> onExit);

    /** Kills the payload and every other process of the tenant (the grace period is over). */
    void kill(String name, Payload payload);

    /** Starts the payload's cron jobs and daemons; their timers and exits arrive through {@code mailbox}. */
    PayloadServices startServices(String name, Payload payload, VassalConfig cfg, int uid, int gid, Executor mailbox);
}
