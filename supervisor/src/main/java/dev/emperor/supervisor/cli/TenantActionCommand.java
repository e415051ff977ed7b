package dev.emperor.supervisor.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.emperor.supervisor.control.ActionText;
import dev.emperor.supervisor.control.ControlClient;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `emperor start|stop|reload NAME`: one request to the running emperor. */
public abstract class TenantActionCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Parameters(paramLabel = "NAME", description = "the tenant (its vassal file's name without extension)")
    String name;

    @Option(names = "--wait", arity = "0..1", paramLabel = "SECONDS", fallbackValue = "60",
            description = "wait until it is done (running, stopped, or running a new payload) or has failed,"
                    + " at most SECONDS (default 60, at most 600); exit 1 on failure or timeout")
    Integer waitSeconds;

    abstract String action();

    @Override
    public Integer call() throws Exception {
        ObjectNode request = new ObjectMapper().createObjectNode().put("cmd", action()).put("name", name);
        if (waitSeconds != null) {
            if (waitSeconds < 1 || waitSeconds > 600) {
                System.err.println("emperor: --wait takes 1 to 600 seconds, not " + waitSeconds);
                return 2;
            }
            request.put("wait", waitSeconds);
        }
        ObjectNode reply = ControlClient.call(config.load().controlSocket(), request);
        return ActionText.render(action(), name, waitSeconds, reply).print();
    }

    @Command(name = "start", mixinStandardHelpOptions = true,
            description = "Start a stopped tenant (and remember that it should run).")
    public static final class Start extends TenantActionCommand {
        String action() {
            return "start";
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true,
            description = "Stop a tenant gracefully (SIGTERM, then SIGKILL after the grace period); it stays"
                    + " stopped until `emperor start`.")
    public static final class Stop extends TenantActionCommand {
        String action() {
            return "stop";
        }
    }

    @Command(name = "reload", mixinStandardHelpOptions = true,
            description = "Restart a tenant's payload gracefully with its current vassal file.")
    public static final class Reload extends TenantActionCommand {
        String action() {
            return "reload";
        }
    }
}
