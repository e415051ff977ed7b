package dev.emperor.supervisor.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.emperor.supervisor.control.ControlClient;
import java.time.Duration;
import java.util.Optional;

/**
 * The CLI's side of a control-socket request: build it, send it, and when the emperor refuses
 * it print its reason as {@code emperor: REASON} on stderr (the command then exits 1).
 */
final class ControlRequests {
    private ControlRequests() {}

    static ObjectNode request(String cmd) {
        return new ObjectMapper().createObjectNode().put("cmd", cmd);
    }

    /** The emperor's reply, or empty once a refusal has been printed. */
    static Optional<ObjectNode> send(ConfigOption config, ObjectNode request) throws Exception {
        return accepted(ControlClient.call(config.load().controlSocket(), request));
    }

    /** As {@link #send(ConfigOption, ObjectNode)}, waiting up to {@code timeout} for a slow answer. */
    static Optional<ObjectNode> send(ConfigOption config, ObjectNode request, Duration timeout) throws Exception {
        return accepted(ControlClient.call(config.load().controlSocket(), request, timeout));
    }

    private static Optional<ObjectNode> accepted(ObjectNode reply) {
        if (reply.path("ok").asBoolean()) return Optional.of(reply);
        System.err.println("emperor: " + reply.path("error").asText());
        return Optional.empty();
    }
}
