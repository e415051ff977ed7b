package dev.emperor.supervisor.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** `emperor maintenance NAME on|off`. */
@Command(name = "maintenance", mixinStandardHelpOptions = true,
        description = "Put a tenant's web site in maintenance (503 with Retry-After, or its maintenance upstream)"
                + " or take it out. Kept across emperor restarts; overrides the vassal file's `maintenance`.")
public final class MaintenanceCommand implements Callable<Integer> {
    enum Mode { on, off }

    @Mixin
    ConfigOption config;

    @Parameters(index = "0", paramLabel = "NAME", description = "the tenant")
    String name;

    @Parameters(index = "1", paramLabel = "on|off", description = "on or off")
    Mode mode;

    @Override
    public Integer call() throws Exception {
        ObjectNode request = ControlRequests.request("maintenance").put("name", name).put("on", mode == Mode.on);
        if (ControlRequests.send(config, request).isEmpty()) return 1;
        System.out.println(name + ": maintenance " + mode);
        return 0;
    }
}
