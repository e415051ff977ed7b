package dev.emperor.supervisor.cli;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.emperor.supervisor.control.ControlClient;
import dev.emperor.supervisor.control.StatusText;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `emperor status [NAME] [--json]`: what it prints is {@link StatusText}'s, shared with the daemon's text replies. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = {"Show every tenant (or one): state, pid, uptime, restarts, memory, CPU, last exit and error.",
            "Retired tenants (vassal file removed; uid, address, ports, domains and data kept for their name) are listed"
                    + " apart, with when they are purged (emperor.ini `retain`; `emperor purge NAME` does it now)."})
public final class StatusCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Parameters(arity = "0..1", paramLabel = "NAME", description = "only this tenant, with details")
    String name;

    @Option(names = "--json", description = "print JSON instead of a table")
    boolean asJson;

    @Option(names = "--retired", description = "only the retired tenants")
    boolean onlyRetired;

    @Override
    public Integer call() throws Exception {
        return StatusText.render(ControlClient.call(config.load().controlSocket(), request()), name, asJson, onlyRetired).print();
    }

    /** The request the CLI sends; the native client (emperor-ctl) sends the same fields. */
    ObjectNode request() {
        ObjectNode request = JsonNodeFactory.instance.objectNode().put("cmd", "status");
        if (name != null) request.put("name", name);
        return request;
    }
}
