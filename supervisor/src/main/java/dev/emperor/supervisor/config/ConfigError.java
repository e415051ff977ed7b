package dev.emperor.supervisor.config;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A configuration file that Emperor refuses, with the place to fix it: file, line (0 when the
 * problem is not on one line, e.g. the file is too large or a required key is missing), the
 * key concerned (null when there is none) and what is wrong.
 *
 * <p>{@link #getMessage()} reads {@code FILE:LINE: KEY: PROBLEM}, leaving out the absent parts,
 * so that editors and terminals can jump to the line.
 */
public final class ConfigError extends Exception {
    private static final long serialVersionUID = 1L;

    private final Path file;
    private final int line;
    private final String key;
    private final String problem;

    public ConfigError(Path file, int line, String key, String problem) {
        super(problem);
        this.file = Objects.requireNonNull(file, "file");
        this.line = Math.max(0, line);
        this.key = key;
        this.problem = Objects.requireNonNull(problem, "problem");
    }

    /** An error about the whole file (no line, no key). */
    public ConfigError(Path file, String problem) {
        this(file, 0, null, problem);
    }

    public Path file() {
        return file;
    }

    /** 1-based line number, or 0 when the problem is not on one line. */
    public int line() {
        return line;
    }

    /** The key concerned, or null. */
    public String key() {
        return key;
    }

    public String problem() {
        return problem;
    }

    @Override
    public String getMessage() {
        StringBuilder message = new StringBuilder().append(file);
        if (line > 0) {
            message.append(':').append(line);
        }
        if (key != null) {
            message.append(": ").append(key);
        }
        message.append(": ").append(problem);
        // Keys and values come from files written by control panels on behalf of tenants: a
        // newline or escape sequence in them must not forge log lines or drive a terminal.
        return printable(message);
    }

    /** A value as shown in a problem text: in single quotes, cut at 80 characters. */
    static String quote(String value) {
        return "'" + (value.length() > 80 ? value.substring(0, 77) + "..." : value) + "'";
    }

    /**
     * The text with control characters (C0, DEL, C1, line and paragraph separators) written as
     * {@code \\xNN} / {@code \\uNNNN}: for anything from a file name or a tenant that goes into a
     * log line or onto a terminal.
     */
    public static String printable(CharSequence text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029) {
                out.append(c <= 0xff ? String.format("\\x%02x", (int) c) : String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
