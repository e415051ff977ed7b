package dev.emperor.supervisor.lifecycle;

import dev.emperor.jail.TenantProcess;
import dev.emperor.supervisor.config.VassalConfig;
import dev.emperor.supervisor.services.CronJobStatus;
import dev.emperor.supervisor.services.CronScheduler;
import dev.emperor.supervisor.services.DaemonRecords;
import dev.emperor.supervisor.services.DaemonStatus;
import dev.emperor.supervisor.services.DaemonSupervisor;
import dev.emperor.supervisor.services.ServiceEvents;
import dev.emperor.supervisor.services.TaskTimer;
import dev.emperor.supervisor.state.EventKind;
import dev.emperor.supervisor.state.StateStore;
import java.io.IOException;
import java.time.Duration;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running payload's cron jobs and attached daemons, wired to the emperor: timers and exits
 * arrive through the tenant's mailbox, events go to the state store and the tenant's log,
 * daemons are recorded for re-adoption. One instance per payload; {@link #stop()} when it stops.
 */
final class TenantServices implements PayloadServices {
    private static final Logger log = LoggerFactory.getLogger(TenantServices.class);

    private final CronScheduler cron;
    private final DaemonSupervisor daemons;

    TenantServices(String name, VassalHost ctx, Executor mailbox, TenantProcess init, VassalConfig cfg, int uid,
            int gid) {
        EnteredCommands commands = new EnteredCommands(ctx.launcher(), ctx.reaper(), init, cfg, uid, gid, mailbox);
        TaskTimer timer = (delay, task) -> {
            ScheduledFuture<?> f = ctx.timers().schedule(() -> mailbox.execute(task), Math.max(0, delay.toMillis()),
                    TimeUnit.MILLISECONDS);
            return () -> f.cancel(false);
        };
        ServiceEvents events = new ServiceEvents() {
            @Override
            public void event(String detail) {
                ctx.store().events().record(name, detail.startsWith("cron") ? EventKind.CRON : EventKind.DAEMON, detail);
                log.info("vassal {}: {}", name, detail);
            }

            @Override
            public void note(String line) {
                try {
                    ctx.logs().append(name, line);
                } catch (IOException e) {
                    log.warn("vassal {}: cannot write its log: {}", name, e.toString());
                }
            }
        };
        Duration grace = ctx.config().stopGrace();
        this.cron = new CronScheduler(ctx.config().cronTimezone(), InstantSource.system(), timer, commands,
                cfg.cronTimeout(), grace, events);
        this.daemons = new DaemonSupervisor(InstantSource.system(), timer, commands, ctx.config().backoffMax(), grace,
                records(name, ctx.store()), events);
    }

    private static DaemonRecords records(String name, StateStore store) {
        return new DaemonRecords() {
            @Override
            public void started(String key, int pid, long startTime) {
                store.daemons().record(name, key, pid, startTime);
            }

            @Override
            public void ended(String key) {
                store.daemons().forget(name, key);
            }

            @Override
            public Map<String, Process> recorded() {
                Map<String, Process> all = new LinkedHashMap<>();
                store.daemons().of(name).forEach((key, p) -> all.put(key, new Process(p.pid(), p.startTime())));
                return all;
            }

            @Override
            public void clear() {
                store.daemons().forget(name, null);
            }
        };
    }

    /** Applies the file's cron and daemon lines (only what changed). */
    @Override
    public void apply(VassalConfig cfg) {
        daemons.setDaemons(cfg.daemons());
        cron.setTimeLimit(cfg.cronTimeout());
        cron.setJobs(cfg.cron());
    }

    /** The payload is being stopped: no new runs, SIGTERM to daemons. */
    @Override
    public void stop() {
        cron.stop();
        daemons.stop();
    }

    /** The payload has exited, and the tenant's other processes with it. */
    @Override
    public void gone() {
        cron.stop();
        daemons.tenantGone();
    }

    @Override
    public List<DaemonStatus> daemonStatus() {
        return daemons.status();
    }

    @Override
    public List<CronJobStatus> cronStatus() {
        return cron.status();
    }
}
