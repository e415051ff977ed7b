package dev.emperor.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One response head from a tenant's app, kept as the bytes it arrived in: parsed strictly
 * (CRLF only, token header names, no control characters in values, no obs-fold, exactly one
 * framing), then written on to the client by copying the lines that go on and dropping the
 * hop-by-hop ones. Nothing is decoded into objects on the HTTP/1.1 path; an HTTP/2 client
 * gets a Netty {@link HttpResponse} built from the same lines.
 *
 * <p>One instance per upstream connection, reused for each response it carries.
 */
final class ResponseHead {

    /** How the body that follows the head ends. */
    enum Framing { NONE, LENGTH, CHUNKED, CLOSE }

    static final int MAX_BYTES = 64 * 1024;

    // What the proxy does with a header, by name (RFC 9110 7.6.1 and the framing headers).
    private static final int KEEP = 0;
    private static final int HOP = 1;
    private static final int CONTENT_LENGTH = 2;
    private static final int TRANSFER_ENCODING = 3;
    private static final int CONNECTION = 4;
    private static final int UPGRADE = 5;

    /** Lower-case names with a kind other than KEEP, by length; and their kinds. */
    private static final byte[][][] SPECIAL_NAMES = new byte[20][][];
    private static final int[][] SPECIAL_KINDS = new int[20][];

    static {
        special(CONTENT_LENGTH, "content-length");
        special(TRANSFER_ENCODING, "transfer-encoding");
        special(CONNECTION, "connection");
        special(UPGRADE, "upgrade");
        special(HOP, "keep-alive", "proxy-connection", "te", "trailer", "proxy-authenticate", "proxy-authorization");
    }

    private static void special(int kind, String... names) {
        for (byte[] name : ascii(names)) {
            int n = name.length;
            byte[][] known = SPECIAL_NAMES[n] == null ? new byte[0][] : SPECIAL_NAMES[n];
            int[] kinds = SPECIAL_KINDS[n] == null ? new int[0] : SPECIAL_KINDS[n];
            SPECIAL_NAMES[n] = Arrays.copyOf(known, known.length + 1);
            SPECIAL_NAMES[n][known.length] = name;
            SPECIAL_KINDS[n] = Arrays.copyOf(kinds, kinds.length + 1);
            SPECIAL_KINDS[n][kinds.length] = kind;
        }
    }
    private static final byte[] CHUNKED = ascii("chunked")[0];
    private static final byte[] CLOSE = ascii("close")[0];
    private static final byte[] KEEP_ALIVE = ascii("keep-alive")[0];

    private static final byte[] HTTP11 = ascii("HTTP/1.1 ")[0];
    private static final byte[] TE_CHUNKED = ascii("Transfer-Encoding: chunked\r\n")[0];
    private static final byte[] CONNECTION_CLOSE = ascii("Connection: close\r\n")[0];
    private static final byte[] CONNECTION_UPGRADE = ascii("Connection: Upgrade\r\nUpgrade: ")[0];
    private static final byte[] CRLF = {'\r', '\n'};
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGHS = 0x8080808080808080L;

    byte[] bytes = new byte[1024];
    int length;

    /** Makes every bare LF of the gathered head a CRLF, so the parser and the client see CRLF only. */
    void addMissingCarriageReturns() {
        int bare = 0;
        for (int i = 0; i < length; i++) {
            if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r')) bare++;
        }
        byte[] fixed = new byte[Math.max(bytes.length, length + bare)];
        int o = 0;
        for (int i = 0; i < length; i++) {
            if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r')) fixed[o++] = '\r';
            fixed[o++] = bytes[i];
        }
        bytes = fixed;
        length = o;
    }

    private int status;
    /** Where the status code starts: "200 OK\r\n" is copied as it came. */
    private int statusFrom;
    private int statusLineEnd;
    private boolean http10;
    private int count;
    /** Per header: line start, name end, value start, value end (trimmed), line end (after CRLF), kind. */
    private int[] fields = new int[6 * 32];
    private long contentLength;
    private boolean chunked;
    private boolean closeAsked;
    private boolean keepAliveAsked;
    private int upgradeValue = -1;
    /** Lower-case names listed in Connection: hop-by-hop too. Usually null. */
    private List<String> connectionNamed;

    int status() {
        return status;
    }

    boolean chunked() {
        return chunked;
    }

    long contentLength() {
        return contentLength;
    }

    /** Whether the app lets the connection be reused after this response (given a framed body). */
    boolean keepAlive() {
        return !closeAsked && (!http10 || keepAliveAsked);
    }

    /** The body's framing for a response to a request of the given kind (RFC 9112 6.3). */
    Framing framing(boolean headRequest) {
        if (headRequest || status == 204 || status == 304 || status < 200) {
            return Framing.NONE;
        }
        if (chunked) {
            return Framing.CHUNKED;
        }
        return contentLength >= 0 ? (contentLength == 0 ? Framing.NONE : Framing.LENGTH) : Framing.CLOSE;
    }

    /**
     * Parses the {@code length} bytes in {@link #bytes}, which end with the blank line (the
     * reader has checked every LF follows a CR). Returns null, or why the head is refused.
     */
    String parse() {
        count = 0;
        contentLength = -1;
        chunked = false;
        closeAsked = false;
        keepAliveAsked = false;
        upgradeValue = -1;
        connectionNamed = null;
        byte[] b = bytes;
        // Status line: HTTP/1.x SP 3DIGIT [SP reason] CRLF.
        if (length < 14 || !startsWith(b, 0, "HTTP/1.") || (b[7] != '1' && b[7] != '0') || b[8] != ' ') {
            return "bad status line";
        }
        http10 = b[7] == '0';
        statusFrom = 9;
        if (!digit(b[9]) || !digit(b[10]) || !digit(b[11]) || b[9] == '0') {
            return "bad status code";
        }
        status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
        int i = 12;
        if (b[i] == ' ') {
            for (i++; b[i] != '\r'; i++) {
                if (HttpTokens.isControl(b[i])) {
                    return "control character in the reason phrase";
                }
            }
        }
        if (b[i] != '\r' || b[i + 1] != '\n') {
            return "bad status line";
        }
        statusLineEnd = i + 2;
        i = statusLineEnd;
        while (i < length - 2) {
            String problem = field(b, i);
            if (problem != null) {
                return problem;
            }
            i = fields[6 * (count - 1) + 4];
        }
        if (chunked && contentLength >= 0) {
            return "both Content-Length and Transfer-Encoding";
        }
        return null;
    }

    /** One header line from {@code start}; records it. */
    private String field(byte[] b, int start) {
        int i = start;
        while (HttpTokens.isToken(b[i])) {
            i++;
        }
        if (i == start) {
            return b[i] == ' ' || b[i] == '\t' ? "obs-fold" : "bad header name";
        }
        if (b[i] != ':') {
            return "bad header name";
        }
        int nameEnd = i;
        i++;
        while (b[i] == ' ' || b[i] == '\t') {
            i++;
        }
        int valueFrom = i;
        while (true) {
            // Eight bytes at a time while none is a control character (CR ends the line).
            while (i + 8 <= length && !mayHoldControl((long) LONGS.get(b, i))) {
                i += 8;
            }
            byte c = b[i];
            if (c == '\r') {
                break;
            }
            if (HttpTokens.isControl(c)) {
                return "control character in a header value";
            }
            i++;
        }
        int valueTo = i;
        while (valueTo > valueFrom && (b[valueTo - 1] == ' ' || b[valueTo - 1] == '\t')) {
            valueTo--; // trailing SP and HTAB are not part of the value
        }
        if (b[i + 1] != '\n') {
            return "bare CR in a header";
        }
        int kind = kind(b, start, nameEnd);
        if (count * 6 == fields.length) {
            fields = Arrays.copyOf(fields, fields.length * 2);
        }
        int f = 6 * count++;
        fields[f] = start;
        fields[f + 1] = nameEnd;
        fields[f + 2] = valueFrom;
        fields[f + 3] = valueTo;
        fields[f + 4] = i + 2;
        fields[f + 5] = kind;
        switch (kind) {
            case CONTENT_LENGTH -> {
                if (contentLength >= 0) {
                    return "several Content-Length";
                }
                contentLength = number(b, valueFrom, valueTo);
                if (contentLength < 0) {
                    return "bad Content-Length";
                }
            }
            case TRANSFER_ENCODING -> {
                if (chunked || !equalsIgnoreCase(b, valueFrom, valueTo, CHUNKED)) {
                    return "unsupported Transfer-Encoding";
                }
                chunked = true;
            }
            case CONNECTION -> connectionTokens(b, valueFrom, valueTo);
            case UPGRADE -> upgradeValue = f;
            default -> {
            }
        }
        return null;
    }

    private void connectionTokens(byte[] b, int from, int to) {
        int i = from;
        while (i < to) {
            int end = i;
            while (end < to && b[end] != ',') {
                end++;
            }
            int s = i;
            int e = end;
            while (s < e && (b[s] == ' ' || b[s] == '\t')) {
                s++;
            }
            while (e > s && (b[e - 1] == ' ' || b[e - 1] == '\t')) {
                e--;
            }
            // The usual tokens are recognised in place; only others become Strings.
            if (equalsIgnoreCase(b, s, e, CLOSE)) {
                closeAsked = true;
                i = end + 1;
                continue;
            }
            if (equalsIgnoreCase(b, s, e, KEEP_ALIVE)) {
                keepAliveAsked = true;
                i = end + 1;
                continue;
            }
            String token = new String(b, s, e - s, StandardCharsets.ISO_8859_1).toLowerCase(java.util.Locale.ROOT);
            switch (token) {
                case "", "upgrade", "content-length", "host" -> {
                }
                default -> {
                    if (connectionNamed == null) {
                        connectionNamed = new ArrayList<>(2);
                    }
                    connectionNamed.add(token);
                }
            }
            i = end + 1;
        }
    }

    ByteBuf encode(ByteBufAllocator alloc, Framing body, boolean closeClient) {
        return encode(alloc, body, closeClient, 0);
    }

    /**
     * The head as the client gets it: HTTP/1.1, the app's status and headers minus the
     * hop-by-hop ones, and the framing the proxy relays the body in.
     *
     * @param body        how the body reaches the client: CHUNKED (the app's chunks as they
     *                    are, or the proxy's own for a close-delimited body), LENGTH, NONE, or
     *                    CLOSE (the client connection ends the body)
     * @param closeClient the client connection closes after this response
     * @param room        spare capacity after the head, for a body to be copied in
     */
    ByteBuf encode(ByteBufAllocator alloc, Framing body, boolean closeClient, int room) {
        return assemble(body, closeClient).toBuffer(alloc, room);
    }

    /**
     * As {@link #encode}, but written into {@code arrivedIn} just before its reader index,
     * over the spent bytes of this head as the app sent it (see
     * {@link ResponseParser.Listener#head}): no new buffer, and a body that follows in
     * the same buffer goes out with it, uncopied. Returns where the new head starts, or -1
     * if it is longer than the app's (it then was not written).
     */
    int encodeInPlace(ByteBuf arrivedIn, Framing body, boolean closeClient) {
        HeadBytes out = assemble(body, closeClient);
        int end = arrivedIn.readerIndex();
        if (out.length() > length || end < length || arrivedIn.isReadOnly()) {
            return -1;
        }
        return out.writeEndingAt(arrivedIn, end);
    }

    private HeadBytes assemble(Framing body, boolean closeClient) {
        HeadBytes out = HeadBytes.start();
        out.add(HTTP11).add(bytes, statusFrom, statusLineEnd - statusFrom);
        for (int f = 0; f < 6 * count; f += 6) {
            if (goesOn(f)) { // a Content-Length stays: it only comes with LENGTH or NONE
                out.add(bytes, fields[f], fields[f + 4] - fields[f]);
            }
        }
        if (body == Framing.CHUNKED) {
            out.add(TE_CHUNKED);
        }
        if (closeClient || body == Framing.CLOSE) {
            out.add(CONNECTION_CLOSE);
        }
        return out.add(CRLF);
    }

    /** A 101 head for the client: the app's headers, Connection: Upgrade and its Upgrade. */
    ByteBuf encodeSwitch(ByteBufAllocator alloc) {
        HeadBytes out = HeadBytes.start();
        out.add(HTTP11).add(bytes, statusFrom, statusLineEnd - statusFrom);
        for (int f = 0; f < 6 * count; f += 6) {
            if (goesOn(f)) {
                out.add(bytes, fields[f], fields[f + 4] - fields[f]);
            }
        }
        out.add(CONNECTION_UPGRADE);
        if (upgradeValue >= 0) {
            out.add(bytes, fields[upgradeValue + 2], fields[upgradeValue + 3] - fields[upgradeValue + 2]);
        } else {
            out.add("websocket");
        }
        return out.add(CRLF).add(CRLF).toBuffer(alloc);
    }

    /** The head as a Netty response, for an HTTP/2 client (whose codec frames the body itself). */
    HttpResponse toHttpResponse() {
        HttpHeaders headers = DefaultHttpHeadersFactory.headersFactory().withValidation(false).newHeaders();
        for (int f = 0; f < 6 * count; f += 6) {
            if (goesOn(f)) {
                headers.add(text(fields[f], fields[f + 1]), text(fields[f + 2], fields[f + 3]));
            }
        }
        String reason = statusLineEnd - 2 > statusFrom + 4 ? text(statusFrom + 4, statusLineEnd - 2) : "";
        return new DefaultHttpResponse(HttpVersion.HTTP_1_1, new HttpResponseStatus(status, reason), headers);
    }

    private boolean goesOn(int f) {
        int kind = fields[f + 5];
        if (kind == HOP || kind == TRANSFER_ENCODING || kind == CONNECTION || kind == UPGRADE) {
            return false;
        }
        if (connectionNamed != null) {
            String name = text(fields[f], fields[f + 1]).toLowerCase(java.util.Locale.ROOT);
            return !connectionNamed.contains(name);
        }
        return true;
    }

    private String text(int from, int to) {
        return new String(bytes, from, to - from, StandardCharsets.ISO_8859_1);
    }

    private static int kind(byte[] b, int from, int to) {
        int n = to - from;
        byte[][] names = n < SPECIAL_NAMES.length ? SPECIAL_NAMES[n] : null;
        if (names != null) { // most names have a length no special one has
            for (int k = 0; k < names.length; k++) {
                if (equalsIgnoreCase(b, from, to, names[k])) {
                    return SPECIAL_KINDS[n][k];
                }
            }
        }
        return KEEP;
    }

    /** A decimal Content-Length (1 to 18 digits, nothing else), or -1. */
    private static long number(byte[] b, int from, int to) {
        if (to == from || to - from > 18) {
            return -1;
        }
        long value = 0;
        for (int i = from; i < to; i++) {
            if (!digit(b[i])) {
                return -1;
            }
            value = value * 10 + (b[i] - '0');
        }
        return value;
    }

    /** {@code b[from, to)} equals the lower-case ASCII {@code lower}, ignoring case. */
    private static boolean equalsIgnoreCase(byte[] b, int from, int to, byte[] lower) {
        if (to - from != lower.length) {
            return false;
        }
        for (int i = 0; i < lower.length; i++) {
            byte c = b[from + i];
            if (c >= 'A' && c <= 'Z') {
                c += 32;
            }
            if (c != lower[i]) {
                return false;
            }
        }
        return true;
    }

    private static boolean startsWith(byte[] b, int at, String prefix) {
        for (int i = 0; i < prefix.length(); i++) {
            if (b[at + i] != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static boolean digit(byte c) {
        return c >= '0' && c <= '9';
    }

    /**
     * False only if none of the eight bytes is below 0x20 or 0x7f (bytes from 0x80 up are
     * obs-text, allowed). True may be a false alarm (a borrow); the caller then looks byte by
     * byte.
     */
    private static boolean mayHoldControl(long word) {
        long below20 = (word - 0x20 * ONES) & ~word & HIGHS;
        long del = word ^ (0x7f * ONES);
        return (below20 | ((del - ONES) & ~del & HIGHS)) != 0;
    }


    private static byte[][] ascii(String... values) {
        byte[][] out = new byte[values.length][];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i].getBytes(StandardCharsets.US_ASCII);
        }
        return out;
    }
}
