package dev.emperor.supervisor.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** `emperor purge NAME`. */
@Command(name = "purge", mixinStandardHelpOptions = true,
        description = {
            "Delete a retired tenant now, before its retention (emperor.ini `retain`) is over: its home, disk image,"
                    + " logs and certificate are deleted, its domains released, its name free. A later vassal file of"
                    + " that name is a new tenant, with a fresh uid, home and address; the old uid, address and public"
                    + " ports are never given to anyone again.",
            "Only a retired tenant (its vassal file removed and its payload stopped) can be purged: a live one is"
                    + " refused, and so is a name the emperor does not know (exit 1 either way)."})
public final class PurgeCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Parameters(index = "0", paramLabel = "NAME", description = "the retired tenant (see `emperor status`)")
    String name;

    @Override
    public Integer call() throws Exception {
        Optional<ObjectNode> reply = ControlRequests.send(config, ControlRequests.request("purge").put("name", name));
        if (reply.isEmpty()) return 1;
        System.out.println(name + ": " + reply.get().path("purged").asText());
        return 0;
    }
}
