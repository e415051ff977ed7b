package dev.emperor.supervisor.logs;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * The on-disk format of a tenant's log: one line per line, UTF-8 as the tenant wrote it.
 *
 * <ul>
 *   <li>The emperor's notes, and only they, start with {@code [emperor } and a UTC time:
 *       {@code [emperor 2026-06-01T10:00:00Z] payload exited: code 0}.
 *   <li>A tenant line that would start with {@code [emperor} is written as
 *       {@code [tenant] [emperor...}, so no tenant can forge a note.
 *   <li>In tenant lines, control characters other than tab (C0, DEL) are written as
 *       {@code \xNN}, so no line holds a terminal escape sequence or a carriage return that
 *       would hide its start; a carriage return right before the newline (CRLF) is dropped.
 *   <li>A line is at most {@link LogLimits#lineCap()} bytes; a longer one is cut there.
 * </ul>
 */
final class LogLineFormat {
    private static final byte[] FORGERY = "[emperor".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TENANT_MARK = "[tenant] ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    private LogLineFormat() {}

    /**
     * Formats the tenant's line {@code raw[offset, offset+length)} (without its newline) into
     * {@code out} and returns the length written, newline included; {@code out} must hold
     * {@code cap} bytes.
     */
    static int tenantLine(byte[] raw, int offset, int length, byte[] out, int cap) {
        if (length > 0 && raw[offset + length - 1] == '\r') length--;
        int limit = cap - 1; // room for the newline
        int n = 0;
        if (startsWith(raw, offset, length, FORGERY)) {
            System.arraycopy(TENANT_MARK, 0, out, 0, Math.min(TENANT_MARK.length, limit));
            n = Math.min(TENANT_MARK.length, limit);
        }
        for (int i = offset; i < offset + length; i++) {
            int b = raw[i] & 0xff;
            if ((b < 0x20 && b != '\t') || b == 0x7f) {
                if (n + 4 > limit) break;
                out[n++] = '\\';
                out[n++] = 'x';
                out[n++] = HEX[b >> 4];
                out[n++] = HEX[b & 0xf];
            } else {
                if (n + 1 > limit) break;
                out[n++] = (byte) b;
            }
        }
        out[n++] = '\n';
        return n;
    }

    /** The emperor's note as one line: line breaks and other controls become spaces. */
    static byte[] note(String text, int cap) {
        StringBuilder line = new StringBuilder("[emperor ").append(Instant.now().truncatedTo(ChronoUnit.SECONDS)).append("] ");
        text.codePoints().forEach(c -> line.appendCodePoint(Character.isISOControl(c) ? ' ' : c));
        byte[] bytes = line.toString().getBytes(StandardCharsets.UTF_8);
        int length = Math.min(bytes.length, cap - 1);
        byte[] out = new byte[length + 1];
        System.arraycopy(bytes, 0, out, 0, length);
        out[length] = '\n';
        return out;
    }

    private static boolean startsWith(byte[] bytes, int offset, int length, byte[] prefix) {
        if (length < prefix.length) return false;
        for (int i = 0; i < prefix.length; i++) {
            if (bytes[offset + i] != prefix[i]) return false;
        }
        return true;
    }
}
