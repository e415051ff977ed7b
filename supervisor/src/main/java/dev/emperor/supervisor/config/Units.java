package dev.emperor.supervisor.config;

import java.time.Duration;
import java.util.Locale;

/**
 * The value syntaxes shared by emperor.ini and vassal files: durations, sizes and percentages.
 * Each parser throws {@link IllegalArgumentException} with a message that quotes the value and
 * says what was expected; callers wrap it in a {@link ConfigError} naming file, line and key.
 */
public final class Units {

    private static final String SIZE_EXPECTED = "expected a number with optional K, M, G";
    private static final String DURATION_EXPECTED =
            "expected a number of seconds or a number followed by ms, s, m or h";
    private static final String PERCENT_EXPECTED = "expected a whole number with optional %";

    private Units() {}

    /**
     * A size in bytes: digits, optionally followed by K, M or G (powers of 1024) and an
     * optional B or iB; case does not matter. "512", "64K", "64MiB", "2g".
     */
    public static long parseSize(String text) {
        String value = text.strip();
        int digits = countDigits(value);
        if (digits == 0) {
            throw bad("size", text, SIZE_EXPECTED);
        }
        String unit = value.substring(digits).toUpperCase(Locale.ROOT);
        long multiplier = switch (unit) {
            case "", "B" -> 1L;
            case "K", "KB", "KIB" -> 1L << 10;
            case "M", "MB", "MIB" -> 1L << 20;
            case "G", "GB", "GIB" -> 1L << 30;
            default -> throw bad("size", text, SIZE_EXPECTED);
        };
        try {
            return Math.multiplyExact(parseDigits(value.substring(0, digits), "size", text), multiplier);
        } catch (ArithmeticException e) {
            throw bad("size", text, "too large");
        }
    }

    /** A duration: "500ms", "10s", "5m", "1h", or plain digits meaning seconds. */
    public static Duration parseDuration(String text) {
        String value = text.strip();
        int digits = countDigits(value);
        if (digits == 0) {
            throw bad("duration", text, DURATION_EXPECTED);
        }
        long amount = parseDigits(value.substring(0, digits), "duration", text);
        String unit = value.substring(digits).toLowerCase(Locale.ROOT);
        try {
            return switch (unit) {
                case "ms" -> Duration.ofMillis(amount);
                case "", "s" -> Duration.ofSeconds(amount);
                case "m" -> Duration.ofMinutes(amount);
                case "h" -> Duration.ofHours(amount);
                default -> throw bad("duration", text, DURATION_EXPECTED);
            };
        } catch (ArithmeticException e) {
            throw bad("duration", text, "too large");
        }
    }

    /** A percentage: "50%" or "50" (whole numbers only). */
    public static int parsePercent(String text) {
        String value = text.strip();
        if (value.endsWith("%")) {
            value = value.substring(0, value.length() - 1).strip();
        }
        if (value.isEmpty() || countDigits(value) != value.length()) {
            throw bad("percentage", text, PERCENT_EXPECTED);
        }
        long percent = parseDigits(value, "percentage", text);
        if (percent > Integer.MAX_VALUE) {
            throw bad("percentage", text, "too large");
        }
        return (int) percent;
    }

    /** Formats a byte count the way it is written in config files ("64M", "1536K", "100"). */
    public static String formatSize(long bytes) {
        if (bytes != 0 && bytes % (1L << 30) == 0) {
            return bytes / (1L << 30) + "G";
        }
        if (bytes != 0 && bytes % (1L << 20) == 0) {
            return bytes / (1L << 20) + "M";
        }
        if (bytes != 0 && bytes % (1L << 10) == 0) {
            return bytes / (1L << 10) + "K";
        }
        return Long.toString(bytes);
    }

    private static int countDigits(String value) {
        int i = 0;
        while (i < value.length() && value.charAt(i) >= '0' && value.charAt(i) <= '9') {
            i++;
        }
        return i;
    }

    private static long parseDigits(String digits, String what, String text) {
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw bad(what, text, "too large");
        }
    }

    private static IllegalArgumentException bad(String what, String text, String expected) {
        return new IllegalArgumentException("bad " + what + " " + ConfigError.quote(text) + ": " + expected);
    }
}
