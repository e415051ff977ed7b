package dev.emperor.supervisor.cli;

import dev.emperor.supervisor.config.EmperorConfig;
import dev.emperor.supervisor.config.VassalFiles;
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
        if (VassalFiles.tenantName(java.nio.file.Path.of(name + ".ini")).isEmpty()) {
            System.err.println("emperor: '" + name + "' is not a valid tenant name");
            return 2;
        }
        EmperorConfig cfg = config.load();
        TenantLogs logs = TenantLogs.open(cfg.logDir());
        if (!Files.exists(cfg.logDir().resolve(name + ".log"))) {
            System.err.println("emperor: no log for '" + name + "' in " + cfg.logDir());
            return 1;
        }
        if (follow) {
            logs.follow(name, Math.max(0, lines), line -> {
                System.out.println(printable(line));
                System.out.flush();
            }, () -> false);
        } else {
            logs.tail(name, Math.max(0, lines)).forEach(line -> System.out.println(printable(line)));
        }
        return 0;
    }

    /**
     * The line with every control character but tab shown as {@code \xNN} (C0, DEL, and the
     * C1 range U+0080..U+009F, which some terminals also obey): a tenant's bytes never reach
     * the operator's terminal as an escape sequence, a carriage return or a bell. The writer
     * already escapes C0 and DEL on disk; this also covers logs written before it did.
     */
    static String printable(String line) {
        StringBuilder out = null;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            boolean control = (c < 0x20 && c != '\t') || (c >= 0x7f && c <= 0x9f);
            if (control && out == null) out = new StringBuilder(line.length() + 8).append(line, 0, i);
            if (out == null) continue;
            if (control) {
                out.append("\\x").append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 0xf, 16));
            } else {
                out.append(c);
            }
        }
        return out == null ? line : out.toString();
    }
}
