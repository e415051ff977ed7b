package dev.emperor.proxy.http;

import io.netty.util.concurrent.FastThreadLocal;
import java.util.Arrays;

/**
 * One access log line assembled as bytes, with no String in between; one per event loop
 * thread. Request text arrives as the decoders read it, one char per byte (ISO-8859-1), so
 * each char goes back out as its byte: the log shows what the client sent, not a re-encoding.
 */
final class LogLine {

    private static final FastThreadLocal<LogLine> PER_THREAD = new FastThreadLocal<>() {
        @Override
        protected LogLine initialValue() {
            return new LogLine();
        }
    };
    private static final byte[] HEX = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private byte[] bytes = new byte[512];
    private int length;

    /** This thread's line, emptied. */
    static LogLine start() {
        LogLine line = PER_THREAD.get();
        line.length = 0;
        return line;
    }

    byte[] bytes() {
        return bytes;
    }

    int length() {
        return length;
    }

    /** Text the proxy made itself (addresses, dates, numbers): written as it is. */
    LogLine plain(String text) {
        room(text.length());
        copy(text);
        return this;
    }

    LogLine plain(char c) {
        room(1);
        bytes[length++] = (byte) c;
        return this;
    }

    /** A decimal, written digit by digit: no String (three per line) on the way. */
    LogLine number(long value) {
        if (value < 0) {
            return plain(Long.toString(value));
        }
        int digits = 1;
        for (long rest = value / 10; rest != 0; rest /= 10) {
            digits++;
        }
        room(digits);
        for (int i = length + digits - 1; i >= length; i--) {
            bytes[i] = (byte) ('0' + value % 10);
            value /= 10;
        }
        length += digits;
        return this;
    }

    /**
     * Text from the client, kept to one line: quotes, backslashes, control characters and
     * anything that is not one byte become {@code \x..} escapes; null becomes "-".
     */
    LogLine quoted(String value) {
        if (value == null) {
            return plain('-');
        }
        int plain = 0;
        while (plain < value.length() && isPlain(value.charAt(plain))) {
            plain++;
        }
        if (plain == value.length()) { // the usual case: nothing to escape, one bulk copy
            return plain(value);
        }
        room(4 * value.length());
        byte[] b = bytes;
        int n = length;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (isPlain(c)) {
                b[n++] = (byte) c;
            } else if (c == '"' || c == '\\') {
                b[n++] = '\\';
                b[n++] = (byte) c;
            } else {
                int code = c > 0xff ? '?' : c;
                b[n++] = '\\';
                b[n++] = 'x';
                b[n++] = HEX[code >> 4];
                b[n++] = HEX[code & 0xf];
            }
        }
        length = n;
        return this;
    }

    private static boolean isPlain(char c) {
        return c >= 0x20 && c != '"' && c != '\\' && c != 0x7f && c <= 0xff;
    }

    /** Each char's low byte: a bulk copy for the one-byte strings these are. */
    @SuppressWarnings("deprecation")
    private void copy(String text) {
        text.getBytes(0, text.length(), bytes, length);
        length += text.length();
    }

    private void room(int count) {
        if (length + count > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + count));
        }
    }
}
