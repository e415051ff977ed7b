package dev.emperor.supervisor.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * `emperor shell [NAME]`: sshd's ForceCommand. The real work is the static C client
 * {@code emperor-shell} next to the jar, which the launchers exec directly (a login
 * must not wait for a JVM); this command only exists so that the JVM path (and --help) runs
 * the same client.
 */
@Command(name = "shell", mixinStandardHelpOptions = true,
        description = "Enter a tenant: its login shell on a new terminal, or $SSH_ORIGINAL_COMMAND. Run by sshd's"
                + " ForceCommand as the tenant's user; root may name any tenant.")
public final class ShellCommand implements Callable<Integer> {
    @Option(names = "--socket", paramLabel = "PATH", description = "the emperor's shell socket (default: ${DEFAULT-VALUE})")
    String socket = "/run/emperor/shell.sock";

    @Parameters(paramLabel = "NAME", arity = "0..1", description = "the tenant (root only; others enter their own)")
    String name;

    @Override
    public Integer call() throws Exception {
        // emperor.lib: the Debian package's /usr/lib/emperor; otherwise a checkout's build output.
        String lib = System.getProperty("emperor.lib");
        Path client = lib != null ? Path.of(lib, "emperor-shell")
                : Path.of(System.getProperty("emperor.repo", "."), "supervisor", "target", "emperor-shell");
        if (!Files.isExecutable(client)) {
            System.err.println("emperor: " + client + " is missing (build with ./mvnw package)");
            return 1;
        }
        List<String> cmd = new ArrayList<>(List.of(client.toString(), "--socket", socket));
        if (name != null) cmd.add(name);
        return new ProcessBuilder(cmd).inheritIO().start().waitFor();
    }
}
