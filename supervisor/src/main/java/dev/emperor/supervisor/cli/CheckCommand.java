package dev.emperor.supervisor.cli;

import dev.emperor.jail.BindMount;
import dev.emperor.jail.JailException;
import dev.emperor.jail.JailSpec;
import dev.emperor.jail.MountPlan;
import dev.emperor.supervisor.config.ConfigError;
import dev.emperor.supervisor.config.EmperorConfig;
import dev.emperor.supervisor.config.HostVassalEnvironment;
import dev.emperor.supervisor.config.IniParser;
import dev.emperor.supervisor.config.UntrustedFile;
import dev.emperor.supervisor.config.VassalConfig;
import dev.emperor.supervisor.control.CheckText;
import dev.emperor.supervisor.lifecycle.TenantLauncher;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `emperor check FILE...`: validates emperor.ini and vassal files without running anything. */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = "Validate emperor.ini and vassal files (NAME.ini, NAME.json) without running anything."
                + " Exit status 1 if any file is invalid.")
public final class CheckCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Parameters(arity = "1..*", paramLabel = "FILE", description = "files to check")
    List<Path> files;

    @Option(names = {"-v", "--verbose"},
            description = "also print each valid vassal's mount plan, one step per line, in the order it runs")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        EmperorConfig emperor;
        try {
            emperor = config.load();
        } catch (ConfigError e) {
            System.err.println(e.getMessage());
            return 1;
        }
        int bad = 0;
        for (Path file : files) {
            try {
                if (isEmperorIni(file)) {
                    EmperorConfig.load(file);
                    System.out.println(file + ": ok");
                } else {
                    // the same verdict the daemon gives the native client (CheckText)
                    CheckText.Verdict verdict = CheckText.vassal(file, null, HostVassalEnvironment.of(emperor));
                    if (!verdict.valid()) {
                        System.out.println(verdict.line());
                        bad++;
                        continue;
                    }
                    VassalConfig vassal = verdict.vassal();
                    List<String> plan = verbose ? mountPlan(vassal, emperor) : List.of();
                    System.out.println(verdict.line());
                    if (!plan.isEmpty()) System.out.println("  mount plan of " + vassal.name() + ", in order:");
                    plan.forEach(step -> System.out.println("    " + step));
                }
            } catch (ConfigError e) {
                System.out.println(e.getMessage());
                bad++;
            }
        }
        return bad == 0 ? 0 : 1;
    }

    /** The steps that will build the vassal's root, as the jail prints them. */
    private static List<String> mountPlan(VassalConfig vassal, EmperorConfig emperor) throws ConfigError {
        try {
            return MountPlan.of(jailSpec(vassal, emperor)).describe();
        } catch (JailException e) {
            throw new ConfigError(vassal.source(), 0, null, e.getMessage());
        }
    }

    /**
     * The mount-related part of the spec the supervisor's launcher builds at spawn (same
     * directories, same binds, the account files included); nothing is created. The uid is
     * the file's or a placeholder: the mount plan does not depend on it.
     */
    private static JailSpec jailSpec(VassalConfig vassal, EmperorConfig emperor) {
        String name = vassal.name();
        Path distro = emperor.distroDir().resolve(vassal.distro());
        List<BindMount> binds = new ArrayList<>(vassal.binds());
        binds.addAll(TenantLauncher.accountFileBinds(distro, emperor.runDir().resolve("accounts").resolve(name)));
        int uid = vassal.uid().orElse(emperor.uidRange().first());
        return JailSpec.builder().name(name).hostname(vassal.hostname()).distroRoot(distro)
                .runDir(emperor.runDir().resolve("vassals").resolve(name)).homeDir(emperor.homeDir().resolve(name))
                .homePath(vassal.homePath()).optDir(emperor.optDir().orElse(null)).tmpBytes(vassal.tmpBytes())
                .binds(binds).uid(uid).gid(vassal.gid().orElse(uid)).argv(vassal.argv()).cwd(vassal.cwd())
                .limits(vassal.limits()).seccomp(vassal.seccompPolicy()).ksm(vassal.ksm()).build();
    }

    /** emperor.ini is recognised by its [emperor] section, whatever the file is called. */
    private static boolean isEmperorIni(Path file) {
        if (!file.toString().endsWith(".ini")) return false;
        try {
            // read like the daemon reads: a FIFO or a link to a device must not hang or flood `check`
            byte[] content = UntrustedFile.read(file.toRealPath(), IniParser.MAX_FILE_BYTES);
            return new String(content, java.nio.charset.StandardCharsets.UTF_8).lines()
                    .anyMatch(l -> l.strip().equals("[emperor]"));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
