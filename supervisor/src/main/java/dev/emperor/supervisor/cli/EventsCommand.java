package dev.emperor.supervisor.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `emperor events NAME`: what happened to a tenant (spawns, exits, reloads, stops, errors), oldest first. */
@Command(name = "events", mixinStandardHelpOptions = true,
        description = "Show a tenant's recorded history: spawns, exits with code or signal, reloads, stops, errors.")
public final class EventsCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Parameters(paramLabel = "NAME", description = "the tenant")
    String name;

    @Option(names = {"-n", "--last"}, paramLabel = "N", defaultValue = "20",
            description = "how many of the newest events (default: ${DEFAULT-VALUE}, at most 1000)")
    int last;

    @Override
    public Integer call() throws Exception {
        Optional<ObjectNode> reply =
                ControlRequests.send(config, ControlRequests.request("events").put("name", name).put("limit", last));
        if (reply.isEmpty()) return 1;
        List<JsonNode> events = new ArrayList<>();
        reply.get().path("events").forEach(events::add);
        for (int i = events.size() - 1; i >= 0; i--) { // the store answers newest first
            JsonNode e = events.get(i);
            System.out.printf("%s  %-6s  %s%n", e.path("at").asText(), e.path("kind").asText().toLowerCase(),
                    e.path("detail").asText());
        }
        if (events.isEmpty()) System.out.println("(no events for " + name + ")");
        return 0;
    }
}
