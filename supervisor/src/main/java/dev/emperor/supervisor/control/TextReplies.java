package dev.emperor.supervisor.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Requests with {@code "render":"text"} (protocol version 2, docs/API.md): the reply carries
 * what the CLI would print for it ({@code exit}, {@code stdout}, {@code stderr}), made by the
 * CLI's own renderers. The native client (emperor-ctl) prints just that, so it stays dumb and
 * its output is the Java CLI's byte for byte.
 */
final class TextReplies {
    private TextReplies() {}

    /** Null if the request asks for no text; else why its "render" cannot be served (checked before the handler runs). */
    static String refusal(ObjectNode request) {
        JsonNode render = request.get("render");
        if (render == null) return null;
        if (!render.isTextual() || !render.asText().equals("text")) {
            return "bad request: \"render\" must be \"text\", got " + render;
        }
        return switch (request.path("cmd").asText("")) {
            case "status", "start", "stop", "reload", "logs", "check" -> null;
            default -> "bad request: \"render\":\"text\" is for status, start, stop, reload, logs and check,"
                    + " not " + request.path("cmd");
        };
    }

    static boolean wanted(ObjectNode request) {
        return request.has("render");
    }

    /** {@code reply} as the CLI prints it, for a request {@link #refusal} let through. */
    static ObjectNode render(ObjectNode request, ObjectNode reply) {
        String cmd = request.path("cmd").asText();
        String name = request.hasNonNull("name") ? request.path("name").asText() : null;
        CliText text = switch (cmd) {
            case "status" -> StatusText.render(reply, name, request.path("json").asBoolean(),
                    request.path("retired").asBoolean());
            case "start", "stop", "reload" -> ActionText.render(cmd, name,
                    request.hasNonNull("wait") ? request.path("wait").asInt() : null, reply);
            case "logs" -> LogsText.render(name, reply);
            case "check" -> CheckText.render(reply);
            default -> throw new IllegalArgumentException("no text for " + cmd);
        };
        ObjectNode rendered = ControlProtocol.JSON.createObjectNode();
        rendered.set("ok", reply.path("ok"));
        if (reply.has("error")) rendered.set("error", reply.get("error"));
        return text.addTo(rendered);
    }
}
