package dev.emperor.supervisor.control;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.util.Locale;

/**
 * What one CLI command prints: its standard output, its standard error and its exit code.
 * The Java CLI prints it; the emperor sends it for a request with {@code "render":"text"}
 * (docs/API.md), which the native client (emperor-ctl) prints as is. One renderer per command
 * (StatusText, ActionText, LogsText, CheckText) makes both, so they cannot drift apart.
 */
public record CliText(int exit, String stdout, String stderr) {

    /** The CLI's message for an {"ok":false} reply: "emperor: ERROR", exit 1. */
    static CliText failure(ObjectNode reply) {
        return new CliText(1, "", "emperor: " + reply.path("error").asText() + "\n");
    }

    /** Prints both streams (as the CLI always did: System.out, System.err) and returns the exit code. */
    public int print() {
        print(System.out, stdout);
        print(System.err, stderr);
        return exit;
    }

    private static void print(PrintStream stream, String text) {
        if (text.isEmpty()) return;
        stream.print(text);
        stream.flush();
    }

    /** This text as a reply field set: {"exit":N,"stdout":"...","stderr":"..."} added to {@code reply}. */
    ObjectNode addTo(ObjectNode reply) {
        reply.put("exit", exit);
        reply.put("stdout", stdout);
        reply.put("stderr", stderr);
        return reply;
    }

    /** A builder with the CLI's line end ("\n") and number format (Locale.ROOT: "1.5M" wherever it runs). */
    static final class Out {
        private final StringBuilder text = new StringBuilder();

        Out println(String line) {
            text.append(line).append('\n');
            return this;
        }

        Out println() {
            text.append('\n');
            return this;
        }

        Out printf(String format, Object... args) {
            text.append(String.format(Locale.ROOT, format, args));
            return this;
        }

        @Override
        public String toString() {
            return text.toString();
        }
    }

    static final ObjectMapper JSON = new ObjectMapper();
}
