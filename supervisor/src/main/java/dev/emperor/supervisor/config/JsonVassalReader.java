package dev.emperor.supervisor.config;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Turns the JSON form of a vassal file into the same (key, value, line) entries the INI form
 * gives, so that one validator serves both. Jackson's streaming parser is used rather than
 * data binding because every value must keep the line it came from.
 *
 * <p>The file is one object; its keys are the INI keys. A repeatable key takes a string or an
 * array of strings; number keys also take a JSON integer, boolean keys a JSON boolean. A key
 * given twice is an error (JSON parsers disagree on which copy wins).
 */
final class JsonVassalReader {

    /** The object's entries, and the line the object starts on. */
    record Result(int objectLine, List<IniDocument.Entry> entries) {}

    private static final JsonFactory FACTORY = JsonFactory.builder().build();
    /** Jackson's "(start marker at [Source: ...; line: 3, column: 1])": the file is already named. */
    private static final Pattern SOURCE_REFERENCE =
            Pattern.compile("\\s*\\(start marker at \\[Source: .*?; line: (\\d+), column: \\d+\\]\\)");

    private final Path file;

    private JsonVassalReader(Path file) {
        this.file = file;
    }

    static Result read(Path file, byte[] content) throws ConfigError {
        String text = ConfigFiles.decode(file, content);
        try (JsonParser parser = FACTORY.createParser(text)) {
            return new JsonVassalReader(file).readObject(parser);
        } catch (JsonProcessingException e) {
            int line = e.getLocation() != null ? e.getLocation().getLineNr() : 0;
            String message = SOURCE_REFERENCE.matcher(e.getOriginalMessage()).replaceAll(" (opened on line $1)");
            if (message.length() > 200) {
                message = message.substring(0, 200) + "...";
            }
            throw new ConfigError(file, line, null, "invalid JSON: " + message);
        } catch (IOException e) {
            throw new ConfigError(file, "cannot read: " + ConfigFiles.describe(e));
        }
    }

    private Result readObject(JsonParser parser) throws IOException, ConfigError {
        JsonToken token = parser.nextToken();
        if (token != JsonToken.START_OBJECT) {
            throw new ConfigError(file, line(parser), null, "expected a JSON object { \"exec\": ... }");
        }
        int objectLine = line(parser);
        List<IniDocument.Entry> entries = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
            String key = parser.currentName();
            int keyLine = line(parser);
            Integer earlier = seen.putIfAbsent(key, keyLine);
            if (earlier != null) {
                throw new ConfigError(file, keyLine, key,
                        "given twice (lines " + earlier + " and " + keyLine + ")"
                                + " ; a repeatable key takes an array");
            }
            VassalKey schemaKey = VassalKey.byKey(key)
                    .orElseThrow(() -> VassalValidator.unknownKey(file, keyLine, key));
            readValue(parser, schemaKey, keyLine, entries);
        }
        if (parser.nextToken() != null) {
            throw new ConfigError(file, line(parser), null, "unexpected content after the JSON object");
        }
        return new Result(objectLine, entries);
    }

    private void readValue(JsonParser parser, VassalKey key, int keyLine, List<IniDocument.Entry> entries)
            throws IOException, ConfigError {
        JsonToken token = parser.nextToken();
        switch (token) {
            case START_ARRAY -> {
                if (!key.repeatable()) {
                    throw new ConfigError(file, keyLine, key.key(), "takes a single value, not an array");
                }
                while ((token = parser.nextToken()) != JsonToken.END_ARRAY) {
                    if (token != JsonToken.VALUE_STRING) {
                        throw new ConfigError(file, line(parser), key.key(),
                                "expected an array of strings, found " + describe(token));
                    }
                    entries.add(new IniDocument.Entry(key.key(), parser.getText(), line(parser)));
                }
            }
            case VALUE_STRING -> entries.add(new IniDocument.Entry(key.key(), parser.getText(), line(parser)));
            case VALUE_NUMBER_INT -> {
                if (key.jsonType() != VassalKey.JsonType.NUMBER) {
                    throw wrongType(parser, key, token);
                }
                entries.add(new IniDocument.Entry(key.key(), parser.getText(), line(parser)));
            }
            case VALUE_TRUE, VALUE_FALSE -> {
                if (key.jsonType() != VassalKey.JsonType.BOOLEAN) {
                    throw wrongType(parser, key, token);
                }
                entries.add(new IniDocument.Entry(key.key(), parser.getText(), line(parser)));
            }
            case VALUE_NUMBER_FLOAT -> throw new ConfigError(file, line(parser), key.key(),
                    key.jsonType() == VassalKey.JsonType.NUMBER ? "expected a whole number" : expected(key));
            default -> throw wrongType(parser, key, token);
        }
    }

    private ConfigError wrongType(JsonParser parser, VassalKey key, JsonToken token) {
        return new ConfigError(file, line(parser), key.key(), expected(key) + ", found " + describe(token));
    }

    private static String expected(VassalKey key) {
        return switch (key.jsonType()) {
            case STRING -> key.repeatable() ? "expected a string or an array of strings" : "expected a string";
            case NUMBER -> "expected a number or a string";
            case BOOLEAN -> "expected true, false or a string";
        };
    }

    private static String describe(JsonToken token) {
        return switch (token) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_NULL -> "null (leave the key out instead)";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            default -> "a string";
        };
    }

    private static int line(JsonParser parser) {
        return parser.currentTokenLocation().getLineNr();
    }
}
