package dev.emperor.supervisor.lifecycle;

import dev.emperor.jail.ExitStatus;
import dev.emperor.jail.TenantProcess;
import dev.emperor.supervisor.config.ConfigError;
import dev.emperor.supervisor.config.VassalConfig;
import dev.emperor.supervisor.services.TaskTimer;
import dev.emperor.supervisor.state.Desired;
import dev.emperor.supervisor.state.EventKind;
import dev.emperor.supervisor.state.StateStore;
import dev.emperor.supervisor.state.TenantIdentityStore;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** A {@link VassalContext} made of the emperor's services: the state store, the launcher, the reaper, the logs. */
public final class HostVassalContext implements VassalContext {
    private final VassalHost host;
    private final VassalRecords records;
    private final PayloadRunner payloads;
    private final TenantNotes notes;
    private final LifecycleSettings settings;
    private final TaskTimer timer;

    public HostVassalContext(VassalHost host) {
        this.host = host;
        this.records = new StoredRecords(host.store());
        this.payloads = new JailedPayloads(host);
        this.notes = new TenantNotes() {
            @Override
            public void append(String name, String line) throws IOException {
                host.logs().append(name, line);
            }

            @Override
            public String problem(String name) {
                return host.logs().problem(name);
            }

            @Override
            public long droppedLines(String name) {
                return host.logs().droppedLines(name);
            }
        };
        this.settings = new LifecycleSettings() {
            @Override
            public Duration stopGrace() {
                return host.config().stopGrace();
            }

            @Override
            public Duration backoffMax() {
                return host.config().backoffMax();
            }

            @Override
            public Duration retain() {
                return host.config().retain();
            }
        };
        this.timer = (delay, task) -> {
            ScheduledFuture<?> f = host.timers().schedule(task, Math.max(0, delay.toMillis()), TimeUnit.MILLISECONDS);
            return () -> f.cancel(false);
        };
    }

    @Override
    public LifecycleSettings settings() {
        return settings;
    }

    @Override
    public VassalRecords records() {
        return records;
    }

    @Override
    public TenantResources resources() {
        return host.launcher();
    }

    @Override
    public PayloadRunner payloads() {
        return payloads;
    }

    @Override
    public TenantNotes notes() {
        return notes;
    }

    @Override
    public TaskTimer timer() {
        return timer;
    }

    @Override
    public InstantSource clock() {
        return InstantSource.system();
    }

    @Override
    public Executor mailboxExecutor() {
        return host.mailboxExecutor();
    }

    @Override
    public void stateChanged(String name, VassalState state, Instant retryAt) {
        host.stateChanged(name, state, retryAt);
    }

    @Override
    public void forget(Vassal vassal, Consumer<Vassal> replay) {
        host.forget(vassal, replay);
    }

    /** A payload the jail started or re-adopted. */
    record JailedPayload(TenantProcess process) implements Payload {
        @Override
        public int pid() {
            return process.pid();
        }

        @Override
        public long startTime() {
            return process.startTime();
        }

        @Override
        public boolean signal(int sig) {
            return process.signal(sig);
        }

        @Override
        public void close() {
            process.close();
        }
    }

    private record JailedPayloads(VassalHost host) implements PayloadRunner {
        @Override
        public Spawned spawn(VassalConfig cfg) throws ConfigError {
            TenantLauncher.Spawned spawned = host.launcher().spawn(cfg);
            return new Spawned(new JailedPayload(spawned.process()), spawned.uid(), spawned.gid());
        }

        @Override
        public void watch(Payload payload, Consumer<ExitStatus> onExit) {
            host.reaper().watch(payload.process(), onExit);
        }

        @Override
        public void kill(String name, Payload payload) {
            host.launcher().kill(name, payload.process());
        }

        @Override
        public PayloadServices startServices(String name, Payload payload, VassalConfig cfg, int uid, int gid,
                Executor mailbox) {
            return new TenantServices(name, host, mailbox, payload.process(), cfg, uid, gid);
        }
    }

    private record StoredRecords(StateStore store) implements VassalRecords {
        @Override
        public Optional<Recorded> recorded(String name) {
            return store.vassals().get(name).map(row -> new Recorded(row.desired(), row.restarts(), row.lastExit(),
                    row.configHash(), row.uid(), row.gid()));
        }

        @Override
        public void setDesired(String name, Desired desired) {
            store.vassals().setDesired(name, desired);
        }

        @Override
        public void recordSpawn(String name, int pid, long startTime, String configHash, int uid, int gid) {
            store.vassals().recordSpawn(name, pid, startTime, configHash, uid, gid);
        }

        @Override
        public void recordConfigHash(String name, String configHash) {
            store.vassals().recordConfigHash(name, configHash);
        }

        @Override
        public void recordExit(String name, String lastExit, boolean countsAsRestart) {
            store.vassals().recordExit(name, lastExit, countsAsRestart);
        }

        @Override
        public void recordError(String name, String error) {
            store.vassals().recordError(name, error);
        }

        @Override
        public void forgetDaemons(String name) {
            store.daemons().forget(name, null);
        }

        @Override
        public void event(String name, EventKind kind, String detail) {
            store.events().record(name, kind, detail);
        }

        @Override
        public TenantIdentityStore.Arrival arrive(String name) {
            return store.identities().arrive(name);
        }

        @Override
        public boolean retire(String name, Instant at) {
            return store.identities().retire(name, at);
        }
    }
}
