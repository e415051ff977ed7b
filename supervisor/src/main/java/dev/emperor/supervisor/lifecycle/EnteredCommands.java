package dev.emperor.supervisor.lifecycle;

import dev.emperor.jail.ExitStatus;
import dev.emperor.jail.PidfdReaper;
import dev.emperor.jail.TenantProcess;
import dev.emperor.supervisor.config.VassalConfig;
import dev.emperor.supervisor.services.TenantCommands;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * {@link TenantCommands} for one running payload: commands enter the tenant through the
 * {@link TenantLauncher} (so the jail, the log and the environment stay its business), are
 * watched by the {@link PidfdReaper}, and their exits are handed to the tenant's mailbox.
 */
final class EnteredCommands implements TenantCommands {
    private final TenantLauncher launcher;
    private final PidfdReaper reaper;
    private final TenantProcess init;
    private final VassalConfig config;
    private final int uid;
    private final int gid;
    private final Executor mailbox;

    EnteredCommands(TenantLauncher launcher, PidfdReaper reaper, TenantProcess init, VassalConfig config, int uid,
            int gid, Executor mailbox) {
        this.launcher = launcher;
        this.reaper = reaper;
        this.init = init;
        this.config = config;
        this.uid = uid;
        this.gid = gid;
        this.mailbox = mailbox;
    }

    private record Entered(TenantProcess process) implements Running {
        @Override
        public int pid() {
            return process.pid();
        }

        @Override
        public long startTime() {
            return process.startTime();
        }

        @Override
        public void signal(int sig) {
            if (!process.isClosed()) process.signalGroup(sig);
        }
    }

    @Override
    public Running start(List<String> argv, Consumer<ExitStatus> onExit) {
        return watched(launcher.enter(init, config, uid, gid, argv), onExit);
    }

    @Override
    public Optional<Running> adopt(int pid, long startTime, Consumer<ExitStatus> onExit) {
        return launcher.adoptEntered(init, pid, startTime).map(p -> watched(p, onExit));
    }

    private Running watched(TenantProcess process, Consumer<ExitStatus> onExit) {
        reaper.watch(process, status -> mailbox.execute(() -> {
            process.close();
            onExit.accept(status);
        }));
        return new Entered(process);
    }
}
