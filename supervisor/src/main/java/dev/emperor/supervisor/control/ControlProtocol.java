package dev.emperor.supervisor.control;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * The wire format shared by {@link ControlServer} and {@link ControlClient}: one JSON object
 * per line, one request and one response per connection.
 */
final class ControlProtocol {

    /** Longest request line the server reads: a command, at most with a certificate bundle. */
    static final int MAX_REQUEST_BYTES = 512 * 1024; // a 256 KiB bundle in base64 fits

    /** Longest response the client reads (a status of many vassals can be large). */
    static final int MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

    /**
     * The protocol's version, in every reply as "version" (docs/API.md). A request may name the
     * version it was written for; a newer one than this is refused rather than half-understood.
     * Raised only for changes old clients could misread, or requests an older emperor would
     * misread; new fields and commands keep it. 2: "render":"text", and the logs and check
     * commands: a request using them says version 2, so an emperor of version 1 refuses it
     * instead of acting on it and answering without the text.
     */
    public static final int VERSION = 2;

    static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private ControlProtocol() {}

    /** Thrown for input that is not one JSON object of acceptable size. */
    static final class BadMessage extends Exception {
        BadMessage(String message) {
            super(message);
        }
    }

    /**
     * Reads one line (without its newline; EOF also ends it). Returns null on EOF before any
     * byte. Stops reading, without consuming the rest, once the line exceeds {@code max}.
     */
    static byte[] readLine(InputStream in, int max) throws IOException, BadMessage {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != -1 && b != '\n') {
            if (line.size() == max) {
                throw new BadMessage("line longer than " + max + " bytes");
            }
            line.write(b);
        }
        if (b == -1 && line.size() == 0) {
            return null;
        }
        return line.toByteArray();
    }

    static ObjectNode parseObject(byte[] line) throws BadMessage {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new BadMessage(e.getOriginalMessage());
        } catch (IOException e) {
            throw new BadMessage(e.getMessage());
        }
        if (node == null || node.isMissingNode()) {
            throw new BadMessage("empty request");
        }
        if (!(node instanceof ObjectNode object)) {
            throw new BadMessage("expected a JSON object, got " + node.getNodeType().name().toLowerCase());
        }
        return object;
    }

    /** Null if the request's "version" (optional, default 1) is one this emperor speaks; else why not. */
    static String unsupportedVersion(ObjectNode request) {
        JsonNode version = request.get("version");
        if (version == null) return null;
        if (!version.canConvertToInt() || !version.isIntegralNumber() || version.asInt() < 1) {
            return "bad request: \"version\" must be a positive integer, got " + version;
        }
        if (version.asInt() > VERSION) {
            return "unsupported protocol version " + version.asInt() + ": this emperor speaks version " + VERSION;
        }
        return null;
    }

    /** The reply as sent: with the protocol version. */
    static byte[] toReplyLine(ObjectNode reply) throws JsonProcessingException {
        reply.put("version", VERSION);
        return toLine(reply);
    }

    static byte[] toLine(ObjectNode message) throws JsonProcessingException {
        byte[] json = JSON.writeValueAsBytes(message);
        byte[] line = new byte[json.length + 1];
        System.arraycopy(json, 0, line, 0, json.length);
        line[json.length] = '\n';
        return line;
    }

    static ObjectNode error(String message) {
        ObjectNode response = JSON.createObjectNode();
        response.put("ok", false);
        response.put("error", message);
        return response;
    }
}
