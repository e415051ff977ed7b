package dev.emperor.supervisor.cli;

import dev.emperor.supervisor.config.ConfigError;
import dev.emperor.supervisor.config.EmperorConfig;
import dev.emperor.supervisor.config.VassalConfig;
import dev.emperor.supervisor.config.VassalEnvironment;
import dev.emperor.supervisor.config.VassalFiles;
import dev.emperor.supervisor.distro.DistroStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `emperor distro create|list|rm`: the store of tenant root filesystems. */
@Command(name = "distro", mixinStandardHelpOptions = true,
        description = "Manage the distro store (tenant root filesystems built with debootstrap).",
        subcommands = {DistroCommand.Create.class, DistroCommand.ListDistros.class, DistroCommand.Remove.class})
public final class DistroCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "expected create, list or rm");
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Build a distro with debootstrap --variant=minbase (about a minute).")
    static final class Create implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Parameters(index = "0", paramLabel = "NAME", description = "name tenants use in `distro = NAME`")
        String name;

        @Parameters(index = "1", arity = "0..1", paramLabel = "SUITE", defaultValue = "bookworm",
                description = "Debian suite (default: ${DEFAULT-VALUE})")
        String suite;

        @Option(names = "--mirror", paramLabel = "URL", description = "Debian mirror (default: the one apt uses here)")
        String mirror;

        @Option(names = "--include", split = ",", paramLabel = "PKG", description = "extra packages, e.g. python3-minimal")
        List<String> include = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            DistroStore store = new DistroStore(config.load().distroDir());
            Path root = store.create(name, suite, mirror != null ? mirror : DistroStore.hostMirror(), include, System.out);
            System.out.println("distro " + name + " ready at " + root);
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the distros and the tenants using them.")
    static final class ListDistros implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Override
        public Integer call() throws Exception {
            EmperorConfig cfg = config.load();
            List<DistroStore.Distro> distros = new DistroStore(cfg.distroDir()).list();
            System.out.printf("%-16s %-10s %-26s %s%n", "NAME", "SUITE", "CREATED", "USED BY");
            for (DistroStore.Distro d : distros) {
                System.out.printf("%-16s %-10s %-26s %s%n", d.name(), d.suite(), d.created(),
                        String.join(",", users(cfg, d.name())));
            }
            if (distros.isEmpty()) System.out.println("(none in " + cfg.distroDir() + ")");
            return 0;
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Delete a distro no tenant uses.")
    static final class Remove implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() throws Exception {
            EmperorConfig cfg = config.load();
            List<String> users = users(cfg, name);
            if (!users.isEmpty()) {
                System.err.println("emperor: distro " + name + " is in use by " + String.join(", ", users)
                        + "; move them to another distro first");
                return 1;
            }
            new DistroStore(cfg.distroDir()).remove(name);
            System.out.println("distro " + name + " removed");
            return 0;
        }
    }

    /** Tenants whose vassal file names this distro (valid files only: an invalid one runs nothing). */
    static List<String> users(EmperorConfig cfg, String distro) throws IOException {
        List<String> users = new ArrayList<>();
        if (!Files.isDirectory(cfg.vassalsDir())) return users;
        VassalEnvironment anyDistro = new VassalEnvironment() {
            @Override
            public boolean distroExists(String name) {
                return true;
            }

            @Override
            public Optional<VassalEnvironment.HostAccount> lookupUser(String name) {
                return Optional.of(new VassalEnvironment.HostAccount(65534, 65534));
            }
        };
        try (Stream<Path> files = Files.list(cfg.vassalsDir())) {
            for (Path file : files.sorted().toList()) {
                if (VassalFiles.tenantName(file).isEmpty()) continue;
                try {
                    VassalConfig vc = VassalFiles.load(file, anyDistro);
                    if (vc.distro().equals(distro)) users.add(vc.name());
                } catch (ConfigError e) {
                    // an invalid file runs nothing, so it uses no distro
                }
            }
        }
        return users;
    }
}
