package dev.emperor.supervisor.cli;

import dev.emperor.supervisor.config.EmperorConfig;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.emperor.supervisor.control.LogsText;
import dev.emperor.supervisor.logs.TenantLogs;
import java.nio.file.Files;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `emperor logs NAME [-f] [-n N]`: reads the tenant's log file directly (root only). */
@Command(name = "logs", mixinStandardHelpOptions = true,
        description = "Print a tenant's output (its stdout and stderr, and what the emperor did to it).")
public final class LogsCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Parameters(paramLabel = "NAME", description = "the tenant")
    String name;

    @Option(names = {"-f", "--follow"}, description = "keep printing new lines until interrupted")
    boolean follow;

    @Option(names = {"-n", "--lines"}, paramLabel = "N", defaultValue = "50",
            description = "how many lines from the end to print first (default: ${DEFAULT-VALUE})")
    int lines;

    @Override
    public Integer call() throws Exception {
        if (!follow) {
            // the same text the daemon sends the native client (LogsText); a bad name is refused before the config is read
            ObjectNode reply = LogsText.validName(name) ? LogsText.reply(config.load().logDir(), name, lines) : null;
            return LogsText.render(name, reply).print();
        }
        if (!LogsText.validName(name)) {
            System.err.println("emperor: '" + name + "' is not a valid tenant name");
            return 2;
        }
        EmperorConfig cfg = config.load();
        TenantLogs logs = TenantLogs.open(cfg.logDir());
        if (!Files.exists(cfg.logDir().resolve(name + ".log"))) {
            System.err.println("emperor: no log for '" + name + "' in " + cfg.logDir());
            return 1;
        }
        logs.follow(name, Math.max(0, lines), line -> {
            System.out.println(printable(line));
            System.out.flush();
        }, () -> false);
        return 0;
    }

    static String printable(String line) {
        return LogsText.printable(line);
    }
}
