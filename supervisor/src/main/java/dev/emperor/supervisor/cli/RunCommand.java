package dev.emperor.supervisor.cli;

import dev.emperor.supervisor.Emperor;
import dev.emperor.supervisor.config.ConfigError;
import dev.emperor.supervisor.config.EmperorConfig;
import dev.emperor.supervisor.signals.DaemonSignals;
import dev.emperor.supervisor.systemd.SystemdNotify;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** `emperor run`: the daemon, in the foreground (systemd runs it this way). */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run the emperor in the foreground: watch the vassal directory and supervise every tenant.")
public final class RunCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(RunCommand.class);

    @Mixin
    ConfigOption config;

    @Override
    public Integer call() throws Exception {
        EmperorConfig cfg;
        try {
            cfg = config.load();
        } catch (ConfigError e) {
            System.err.println("emperor: invalid configuration: " + e.getMessage());
            return 1;
        }
        return runDaemon(config.file(), cfg);
    }

    static int runDaemon(java.nio.file.Path configFile, EmperorConfig cfg) throws Exception {
        if (!"root".equals(System.getProperty("user.name"))) {
            System.err.println("emperor: run needs root (namespaces, cgroups, mounts)");
            return 1;
        }
        try (Emperor emperor = new Emperor(configFile, cfg)) {
            DaemonSignals.handle(DaemonSignals.Handled.HUP, emperor::requestReload);
            DaemonSignals.handle(DaemonSignals.Handled.TERM, emperor::shutdown);
            DaemonSignals.handle(DaemonSignals.Handled.INT, emperor::shutdown);
            emperor.start();
            SystemdNotify.ready("supervising " + emperor.all().size() + " vassals");
            emperor.awaitShutdown();
            SystemdNotify.stopping();
            if (emperor.config().stopVassalsOnExit()) {
                log.info("stopping every vassal (on-exit = stop)");
                emperor.stopAll();
            } else {
                log.info("leaving vassals running for the next emperor to adopt (on-exit = leave)");
            }
        }
        return 0;
    }
}
