package dev.emperor.supervisor.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.emperor.supervisor.config.ConfigError;
import dev.emperor.supervisor.config.EmperorConfig;
import dev.emperor.supervisor.config.HostVassalEnvironment;
import dev.emperor.supervisor.config.VassalConfig;
import dev.emperor.supervisor.config.VassalEnvironment;
import dev.emperor.supervisor.config.VassalFiles;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Optional;

/**
 * `emperor check` of vassal files: the verdict on one file ("FILE: ok" or the error naming file,
 * line and key), shared by the CLI (which reads the file) and the control socket's
 * {@code check} (which is sent the content). emperor.ini files are the CLI's alone.
 */
public final class CheckText {
    /** Base64 content beyond this is refused: a vassal file's own limit (1 MiB) fits; a request is at most 512 KiB anyway. */
    private static final int MAX_CONTENT_BYTES = 1 << 20;

    private CheckText() {}

    /** The line for one vassal file; {@code content} null means read it (as the daemon reads vassal files). */
    public static Verdict vassal(Path file, byte[] content, VassalEnvironment env) {
        try {
            Optional<String> reason = VassalFiles.rejectReason(file);
            if (reason.isPresent()) throw new ConfigError(file, 0, null, reason.get());
            if (VassalFiles.tenantName(file).isEmpty()) {
                throw new ConfigError(file, 0, null, "not a vassal file (expected NAME.ini or NAME.json)");
            }
            VassalConfig vassal = content == null ? VassalFiles.load(file, env) : VassalFiles.parse(file, content, env);
            return new Verdict(true, file + ": ok", vassal);
        } catch (ConfigError e) {
            return new Verdict(false, e.getMessage(), null);
        }
    }

    /** One file's verdict: what `check` prints for it, whether it passed, and the vassal if it did. */
    public record Verdict(boolean valid, String line, VassalConfig vassal) {}

    /**
     * The reply to {"cmd":"check","config":EMPEROR_INI,"files":[{"path":P,"content":BASE64},...]}:
     * each file checked against the vassal environment of EMPEROR_INI (an absolute path; the
     * default file missing means the defaults, as for the CLI), as `emperor check -c EMPEROR_INI P...`
     * would: {"ok":true,"configError":null|MESSAGE,"results":[{"path","valid","line"}]}.
     */
    public static ObjectNode reply(ObjectNode request) {
        String configFile = request.path("config").asText("");
        JsonNode files = request.path("files");
        if (!configFile.startsWith("/")) return ControlProtocol.error("bad request: \"config\" must be an absolute path");
        if (!files.isArray() || files.isEmpty()) return ControlProtocol.error("bad request: \"files\" must list at least one file");
        ObjectNode reply = CliText.JSON.createObjectNode().put("ok", true);
        VassalEnvironment env;
        try {
            env = HostVassalEnvironment.of(loadConfig(Path.of(configFile)));
        } catch (ConfigError | InvalidPathException e) {
            return reply.put("configError", e.getMessage());
        }
        var results = reply.putArray("results");
        for (JsonNode file : files) {
            String path = file.path("path").asText("");
            byte[] content;
            Path named;
            try {
                named = Path.of(path);
                content = Base64.getDecoder().decode(file.path("content").asText(""));
            } catch (IllegalArgumentException e) { // InvalidPathException is one
                return ControlProtocol.error("bad request: file " + "'" + path + "'" + ": " + e.getMessage());
            }
            if (path.isEmpty() || content.length > MAX_CONTENT_BYTES) {
                return ControlProtocol.error("bad request: file " + "'" + path + "'" + ": no path or content over 1 MiB");
            }
            Verdict verdict = vassal(named, content, env);
            results.addObject().put("path", path).put("valid", verdict.valid()).put("line", verdict.line());
        }
        return reply;
    }

    /** As the CLI's -c: the default file missing means the built-in defaults. */
    public static EmperorConfig loadConfig(Path file) throws ConfigError {
        if (file.equals(DEFAULT_CONFIG) && !java.nio.file.Files.exists(file)) return EmperorConfig.defaults();
        return EmperorConfig.load(file);
    }

    public static final Path DEFAULT_CONFIG = Path.of("/etc/emperor/emperor.ini");

    /** The text of a check reply: its lines on stdout, exit 1 if one file failed; a bad emperor.ini on stderr. */
    public static CliText render(ObjectNode reply) {
        if (!reply.path("ok").asBoolean()) return CliText.failure(reply);
        if (reply.hasNonNull("configError")) return new CliText(1, "", reply.path("configError").asText() + "\n");
        CliText.Out out = new CliText.Out();
        boolean allValid = true;
        for (JsonNode result : reply.path("results")) {
            out.println(result.path("line").asText());
            allValid &= result.path("valid").asBoolean();
        }
        return new CliText(allValid ? 0 : 1, out.toString(), "");
    }
}
