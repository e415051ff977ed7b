package dev.emperor.supervisor.lifecycle;

import dev.emperor.supervisor.config.VassalConfig;
import dev.emperor.supervisor.services.CronJobStatus;
import dev.emperor.supervisor.services.DaemonStatus;
import java.util.List;

/** A running payload's cron jobs and daemons. */
public interface PayloadServices {
    /** Applies the file's cron and daemon lines (only what changed). */
    void apply(VassalConfig cfg);

    /** The payload is being stopped: no new runs, SIGTERM to daemons. */
    void stop();

    /** The payload has exited, and the tenant's other processes with it. */
    void gone();

    List<DaemonStatus> daemonStatus();

    List<CronJobStatus> cronStatus();
}
