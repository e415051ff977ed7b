package dev.emperor.supervisor.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads INI files with the semantics of uWSGI's {@code core/ini.c}, which is what people who
 * write vassal files know:
 *
 * <ul>
 *   <li>a line is a section header {@code [name]}, a comment, a {@code key = value} entry or blank;
 *   <li>a comment is a line whose first non-blank character is {@code ;} or {@code #}; there are
 *       no trailing comments, so {@code ;} and {@code #} inside a value are part of the value;
 *   <li>the key ends at the first {@code =}; spaces, tabs and carriage returns around key and
 *       value are dropped; the value may contain further {@code =};
 *   <li>no quoting and no escapes: quotes and backslashes are part of the value;
 *   <li>repeated keys are all kept, in order.
 * </ul>
 *
 * Where uWSGI silently guesses, this parser refuses with a {@link ConfigError} naming the line:
 * an entry before any section, a line without {@code =}, a header without its closing
 * {@code ]}, an empty key or section name. It also refuses files over 1 MiB, NUL bytes and
 * invalid UTF-8, since these files may come from hostile hands. A leading UTF-8 byte order
 * mark is skipped.
 */
public final class IniParser {

    /** Largest file accepted, for INI and JSON alike. */
    public static final int MAX_FILE_BYTES = ConfigFiles.MAX_FILE_BYTES;

    private IniParser() {}

    /** Reads and parses {@code file}. */
    public static IniDocument parse(Path file) throws ConfigError {
        return parse(file, ConfigFiles.readFollowingLinks(file));
    }

    /** Parses {@code content}; {@code file} names it in errors. */
    public static IniDocument parse(Path file, byte[] content) throws ConfigError {
        String text = ConfigFiles.decode(file, content);
        Map<String, List<IniDocument.Entry>> sections = new LinkedHashMap<>();
        Map<String, Integer> sectionLines = new HashMap<>();
        List<IniDocument.Entry> current = null;

        int lineNumber = 0;
        int start = 0;
        while (start < text.length()) {
            int end = text.indexOf('\n', start);
            if (end < 0) {
                end = text.length(); // last line without a newline
            }
            lineNumber++;
            String line = strip(text.substring(start, end));
            start = end + 1;

            if (line.isEmpty() || line.charAt(0) == ';' || line.charAt(0) == '#') {
                continue;
            }
            if (line.charAt(0) == '[') {
                String name = sectionName(file, lineNumber, line);
                sectionLines.putIfAbsent(name, lineNumber);
                current = sections.computeIfAbsent(name, n -> new ArrayList<>());
                continue;
            }
            int equals = line.indexOf('=');
            if (equals < 0) {
                throw new ConfigError(file, lineNumber, null,
                        "expected 'key = value', a [section] or a comment, found no '='");
            }
            String key = strip(line.substring(0, equals));
            String value = strip(line.substring(equals + 1));
            if (key.isEmpty()) {
                throw new ConfigError(file, lineNumber, null, "empty key before '='");
            }
            if (current == null) {
                throw new ConfigError(file, lineNumber, key,
                        "key outside any section (put a [section] header above it)");
            }
            current.add(new IniDocument.Entry(key, value, lineNumber));
        }
        return new IniDocument(file, sections, sectionLines);
    }

    private static String sectionName(Path file, int lineNumber, String line) throws ConfigError {
        if (line.charAt(line.length() - 1) != ']') {
            throw new ConfigError(file, lineNumber, null,
                    "unterminated section header: expected ']' at the end of the line"
                            + " (comments must be on a line of their own)");
        }
        String name = strip(line.substring(1, line.length() - 1));
        if (name.isEmpty()) {
            throw new ConfigError(file, lineNumber, null, "empty section name");
        }
        if (name.indexOf('[') >= 0 || name.indexOf(']') >= 0) {
            throw new ConfigError(file, lineNumber, null, "section name may not contain '[' or ']'");
        }
        return name;
    }

    /** Drops what uWSGI drops around keys and values: spaces, tabs and carriage returns. */
    private static String strip(String s) {
        int from = 0;
        int to = s.length();
        while (from < to && isBlank(s.charAt(from))) {
            from++;
        }
        while (to > from && isBlank(s.charAt(to - 1))) {
            to--;
        }
        return s.substring(from, to);
    }

    private static boolean isBlank(char c) {
        return c == ' ' || c == '\t' || c == '\r';
    }
}
