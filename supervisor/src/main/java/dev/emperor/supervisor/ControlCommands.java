package dev.emperor.supervisor;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.emperor.supervisor.control.ControlHandler;
import dev.emperor.supervisor.lifecycle.Vassal;
import dev.emperor.supervisor.state.EventRow;

/**
 * What the control socket understands. Requests are {"cmd": ..., "name": ...}; every answer
 * has "ok" and, when false, an "error" a person can act on.
 */
final class ControlCommands implements ControlHandler {
    private static final ObjectMapper json = new ObjectMapper();
    private final Emperor emperor;

    ControlCommands(Emperor emperor) {
        this.emperor = emperor;
    }

    @Override
    public ObjectNode handle(ObjectNode request) {
        String cmd = request.path("cmd").asText("");
        String name = request.path("name").asText(null);
        return switch (cmd) {
            case "ping" -> ok();
            case "status" -> status(name);
            case "start" -> act(name, Vassal::start);
            case "stop" -> act(name, Vassal::stop);
            case "reload" -> act(name, Vassal::reload);
            case "events" -> events(name, request.path("limit").asInt(20));
            default -> error("unknown command '" + cmd + "' (expected ping, status, start, stop, reload, events)");
        };
    }

    private ObjectNode status(String name) {
        ObjectNode reply = ok();
        ArrayNode list = reply.putArray("vassals");
        if (name != null) {
            Vassal vassal = emperor.find(name).orElse(null);
            if (vassal == null) return unknown(name);
            list.add(json.valueToTree(vassal.status()));
        } else {
            for (Vassal vassal : emperor.all()) list.add(json.valueToTree(vassal.status()));
        }
        return reply;
    }

    private ObjectNode events(String name, int limit) {
        if (name == null) return error("events needs a vassal name");
        ObjectNode reply = ok();
        ArrayNode list = reply.putArray("events");
        for (EventRow row : emperor.store().events(name, Math.max(1, Math.min(limit, 1000)))) {
            list.addObject().put("at", row.at().toString()).put("kind", row.kind().name().toLowerCase())
                    .put("detail", row.detail());
        }
        return reply;
    }

    private ObjectNode act(String name, java.util.function.Consumer<Vassal> action) {
        if (name == null) return error("a vassal name is required");
        Vassal vassal = emperor.find(name).orElse(null);
        if (vassal == null) return unknown(name);
        action.accept(vassal);
        return ok();
    }

    private ObjectNode unknown(String name) {
        return error("no vassal named '" + name + "' (is its file in " + emperor.config().vassalsDir() + "?)");
    }

    private static ObjectNode ok() {
        return json.createObjectNode().put("ok", true);
    }

    private static ObjectNode error(String message) {
        return json.createObjectNode().put("ok", false).put("error", message);
    }
}
