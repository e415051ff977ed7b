package dev.emperor.supervisor.cli;

import dev.emperor.supervisor.config.ConfigError;
import dev.emperor.supervisor.config.EmperorConfig;
import dev.emperor.supervisor.distro.DistroStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/**
 * `emperor demo`: from a fresh clone to a running emperor hosting the example tenants in
 * vassals/examples. Builds the `bookworm` distro first if the store lacks it.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the emperor with the example tenants of vassals/examples (builds the bookworm distro"
                + " on first use). Ctrl-C stops it and its tenants.")
public final class DemoCommand implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
        String repo = System.getProperty("emperor.repo");
        if (repo == null) {
            System.err.println("emperor: demo must be started through the ./emperor launcher of a checkout");
            return 1;
        }
        Path configFile = Path.of(repo, "vassals", "demo.ini");
        EmperorConfig cfg;
        try {
            cfg = EmperorConfig.load(configFile);
        } catch (ConfigError e) {
            System.err.println("emperor: " + e.getMessage());
            return 1;
        }
        if (!Files.isDirectory(cfg.distroDir().resolve("bookworm"))) {
            System.out.println("emperor: building the bookworm distro for the examples (debootstrap, ~1 minute)");
            new DistroStore(cfg.distroDir()).create("bookworm", "bookworm", DistroStore.hostMirror(),
                    List.of("python3"), System.out);
        }
        System.out.println("emperor: hosting " + cfg.vassalsDir() + ". In another terminal:\n"
                + "  open http://hello.localhost/ in a browser on this box, or curl it (the hello tenant's page,"
                + " through the front proxy)\n"
                + "  sudo ./emperor shell hello     (a shell inside the hello tenant: its own pids, network and files)\n"
                + "  sudo ./emperor status\n"
                + "Ctrl-C stops the demo and its tenants.");
        return RunCommand.runDaemon(configFile, cfg);
    }
}
