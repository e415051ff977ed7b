package dev.emperor.supervisor.control;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** What `emperor start|stop|reload NAME [--wait S]` prints for the reply (see {@link CliText}). */
public final class ActionText {
    private ActionText() {}

    /** {@code waitSeconds} null when the command did not wait. */
    public static CliText render(String action, String name, Integer waitSeconds, ObjectNode reply) {
        if (!reply.path("ok").asBoolean()) return CliText.failure(reply);
        return new CliText(0, name + ": " + action
                + (waitSeconds != null ? " done: " + reply.path("state").asText() : " requested") + "\n", "");
    }
}
