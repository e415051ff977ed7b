package dev.emperor.supervisor.control;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.emperor.supervisor.config.VassalFiles;
import dev.emperor.supervisor.logs.TenantLogs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * `emperor logs NAME [-n N]` (without -f): the control socket's {@code logs} reply (the last
 * lines as written) and what the CLI prints of it (see {@link CliText}).
 */
public final class LogsText {
    private LogsText() {}

    /** The reply to {"cmd":"logs","name":NAME,"lines":N}: {"ok":true,"lines":[...]}, oldest first. */
    public static ObjectNode reply(Path logDir, String name, int lines) {
        if (!validName(name)) return ControlProtocol.error(invalidName(name));
        try {
            TenantLogs logs = TenantLogs.open(logDir);
            if (!Files.exists(logDir.resolve(name + ".log"))) {
                return ControlProtocol.error("no log for '" + name + "' in " + logDir);
            }
            ObjectNode reply = CliText.JSON.createObjectNode().put("ok", true);
            ArrayNode out = reply.putArray("lines");
            logs.tail(name, Math.max(0, lines)).forEach(out::add);
            return reply;
        } catch (IOException e) {
            return ControlProtocol.error(e.getMessage() != null ? e.getMessage() : e.toString());
        }
    }

    /**
     * The text: a bad NAME is exit 2 (the CLI asks nothing then: {@code answer} may be null),
     * a refusal exit 1, else each line {@link #printable}.
     */
    public static CliText render(String name, ObjectNode answer) {
        if (!validName(name)) return new CliText(2, "", "emperor: " + invalidName(name) + "\n");
        if (!answer.path("ok").asBoolean()) return CliText.failure(answer);
        CliText.Out out = new CliText.Out();
        answer.path("lines").forEach(line -> out.println(printable(line.asText())));
        return new CliText(0, out.toString(), "");
    }

    /** A tenant name, nothing else: "../x" would make the daemon read any *.log file on the host. */
    public static boolean validName(String name) {
        return name != null && VassalFiles.isTenantName(name);
    }

    private static String invalidName(String name) {
        return "'" + name + "' is not a valid tenant name";
    }

    /**
     * The line with every control character but tab shown as {@code \xNN} (C0, DEL, and the
     * C1 range U+0080..U+009F, which some terminals also obey): a tenant's bytes never reach
     * the operator's terminal as an escape sequence, a carriage return or a bell. The writer
     * already escapes C0 and DEL on disk; this also covers logs written before it did.
     */
    public static String printable(String line) {
        StringBuilder out = null;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            boolean control = (c < 0x20 && c != '\t') || (c >= 0x7f && c <= 0x9f);
            if (control && out == null) out = new StringBuilder(line.length() + 8).append(line, 0, i);
            if (out == null) continue;
            if (control) {
                out.append("\\x").append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 0xf, 16));
            } else {
                out.append(c);
            }
        }
        return out == null ? line : out.toString();
    }
}
