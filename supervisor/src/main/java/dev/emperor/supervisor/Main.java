package dev.emperor.supervisor;

import dev.emperor.supervisor.cli.CertCommand;
import dev.emperor.supervisor.cli.CheckCommand;
import dev.emperor.supervisor.cli.MaintenanceCommand;
import dev.emperor.supervisor.cli.DemoCommand;
import dev.emperor.supervisor.cli.DistroCommand;
import dev.emperor.supervisor.cli.DomainCommand;
import dev.emperor.supervisor.cli.EventsCommand;
import dev.emperor.supervisor.cli.LogsCommand;
import dev.emperor.supervisor.cli.PurgeCommand;
import dev.emperor.supervisor.cli.RunCommand;
import dev.emperor.supervisor.cli.ShellCommand;
import dev.emperor.supervisor.cli.StatusCommand;
import dev.emperor.supervisor.cli.TenantActionCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** `emperor` — the one command operators use: run the daemon, inspect and steer tenants. */
@Command(name = "emperor", mixinStandardHelpOptions = true, version = "emperor 0.1.0",
        description = "Hosts many untrusted tenants on one Linux box, each in its own jail.%n",
        subcommands = {
            RunCommand.class,
            DemoCommand.class,
            StatusCommand.class,
            TenantActionCommand.Start.class,
            TenantActionCommand.Stop.class,
            TenantActionCommand.Reload.class,
            LogsCommand.class,
            EventsCommand.class,
            CheckCommand.class,
            DistroCommand.class,
            ShellCommand.class,
            CertCommand.class,
            MaintenanceCommand.class,
            DomainCommand.class,
            PurgeCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    public static CommandLine commandLine() {
        return new CommandLine(new Main())
                .setExecutionExceptionHandler((e, cmd, parsed) -> {
                    cmd.getErr().println("emperor: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
                    return 1;
                });
    }
}
