package dev.emperor.proxy.http;

import io.netty.buffer.ByteBuf;

/**
 * Reads a tenant app's responses straight from the bytes of its connection, one exchange at
 * a time: the head is gathered into a {@link ResponseHead} and checked strictly, then the
 * body is handed on as slices of the very buffers it arrived in. The body's framing
 * (Content-Length countdown, chunked, or up to the close) is followed only to find where the
 * response ends, so the connection can be reused; chunked bodies are checked byte by byte
 * (sizes, CRLFs, trailer lines) but, unless the reader asks for the payload alone, passed on
 * with their chunk framing as it came.
 *
 * <p>Interim 1xx responses are skipped; a 101 stops the parser (the rest of the connection is
 * not HTTP any more). Anything out of step (a bad head, a bad chunk, bytes after the end of a
 * response) is reported once, and the parser reads nothing more.
 */
final class ResponseParser {

    /** Receives one response. Called on the connection's event loop, inside {@link #feed}. */
    interface Listener {
        /**
         * The final head (or a 101); valid until the next head.
         *
         * @param arrivedIn the buffer the whole head arrived in, its reader index at the
         *                  body's first byte: the head's own bytes just before it are spent
         *                  and may be overwritten. Null if the head came in several reads.
         * @return true only for a LENGTH body that was all in {@code arrivedIn} and that the
         *         listener took from there itself: the parser then skips it (no body call)
         */
        boolean head(ResponseHead head, ResponseHead.Framing framing, ByteBuf arrivedIn);

        /** Body bytes, a retained slice the listener now owns. */
        void body(ByteBuf bytes);

        /** The response ended after {@code payloadBytes} of body (chunk framing not counted). */
        void end(long payloadBytes);

        /** The app broke HTTP; nothing more is read from it. */
        void malformed(String why);
    }

    private enum State {
        IDLE, HEAD, LENGTH, CLOSE, CHUNK_SIZE, CHUNK_SIZE_WS, CHUNK_EXT, CHUNK_SIZE_LF, CHUNK_DATA, CHUNK_DATA_CR,
        CHUNK_DATA_LF, TRAILER_START, TRAILER_NAME, TRAILER_LINE, TRAILER_LF, TRAILER_END_LF, UPGRADED, FAILED
    }

    private static final int MAX_TRAILER_BYTES = 16 * 1024;

    private final ResponseHead head = new ResponseHead();
    private Listener listener;
    private State state = State.IDLE;
    private boolean headRequest;
    private boolean payloadOnly;
    /** Head bytes already checked for line ends, and where the current head line starts. */
    private int scanned;
    private int lineStart;
    /** The head has a line ending in a bare LF (CGI scripts, busybox httpd): CRs are added before relaying. */
    private boolean bareLf;
    private long remaining;
    private long payload;
    private int trailerBytes;

    /**
     * Expect the response to the request just sent.
     *
     * @param headRequest the request was HEAD: the response has no body, whatever it says
     * @param payloadOnly hand on chunked bodies without their framing (for a client that
     *                    frames the body its own way)
     */
    void expect(Listener listener, boolean headRequest, boolean payloadOnly) {
        this.listener = listener;
        this.headRequest = headRequest;
        this.payloadOnly = payloadOnly;
        startHead();
    }

    /** True between responses: a byte arriving now is out of step. */
    boolean idle() {
        return state == State.IDLE;
    }

    boolean upgraded() {
        return state == State.UPGRADED;
    }

    /**
     * Reads what {@code in} holds (its reader index moves; the caller still owns and releases
     * it). After a 101 the bytes that followed the head are left unread in {@code in}.
     */
    void feed(ByteBuf in) {
        while (in.isReadable()) {
            switch (state) {
                case HEAD -> readHead(in);
                case LENGTH -> {
                    int n = (int) Math.min(remaining, in.readableBytes());
                    pass(in, in.readerIndex(), n);
                    in.skipBytes(n);
                    remaining -= n;
                    payload += n;
                    if (remaining == 0) {
                        end();
                    }
                }
                case CLOSE -> {
                    int n = in.readableBytes();
                    pass(in, in.readerIndex(), n);
                    in.skipBytes(n);
                    payload += n;
                }
                case UPGRADED -> {
                    return;
                }
                case IDLE -> fail("bytes after the response");
                case FAILED -> in.skipBytes(in.readableBytes());
                default -> readChunked(in);
            }
        }
    }

    /** The app closed the connection: the end of a close-delimited body, else nothing. */
    void inputClosed() {
        if (state == State.CLOSE) {
            end();
        }
    }

    private void startHead() {
        state = State.HEAD;
        head.length = 0;
        scanned = 0;
        lineStart = 0;
        bareLf = false;
    }

    /** Gathers head bytes up to the blank line (line ends CRLF, or a bare LF: see below). */
    private void readHead(ByteBuf in) {
        boolean wholeHere = head.length == 0;
        int room = ResponseHead.MAX_BYTES - head.length;
        if (room == 0) {
            fail("response head too large");
            return;
        }
        int n = Math.min(room, in.readableBytes());
        if (head.length + n > head.bytes.length) {
            head.bytes = java.util.Arrays.copyOf(head.bytes, Math.min(ResponseHead.MAX_BYTES,
                    Math.max(head.length + n, head.bytes.length * 2)));
        }
        byte[] b = head.bytes;
        in.getBytes(in.readerIndex(), b, head.length, n);
        int limit = head.length + n;
        // The line ends are found in the buffer, 8 bytes at a time (Netty's indexOf); b[i]
        // is in[base + i]. Every byte of the lines is examined again by the head's parser.
        int base = in.readerIndex() - head.length;
        for (int i = scanned; i < limit; i++) {
            int at = in.indexOf(base + i, base + limit, (byte) '\n');
            if (at < 0) {
                break;
            }
            i = at - base;
            // RFC 9112 §2.2: a recipient may take a bare LF for a line end; apps behind CGI and
            // busybox httpd send them, and nginx and haproxy accept them in responses (never in
            // requests, which stay strict). Such a head is relayed with CRLFs.
            boolean crlf = i > lineStart && b[i - 1] == '\r';
            bareLf |= !crlf;
            if (i - lineStart == (crlf ? 1 : 0)) { // an empty line: the end of the head
                if (lineStart == 0) {
                    fail("blank line before the status line");
                    return;
                }
                in.skipBytes(i + 1 - head.length);
                head.length = i + 1;
                if (bareLf) {
                    head.addMissingCarriageReturns();
                    headDone(null); // the head no longer matches the app's bytes: never rewritten in place
                } else {
                    headDone(wholeHere ? in : null);
                }
                return;
            }
            lineStart = i + 1;
        }
        in.skipBytes(n);
        head.length = limit;
        scanned = limit;
    }

    private void headDone(ByteBuf arrivedIn) {
        String problem = head.parse();
        if (problem != null) {
            fail(problem);
            return;
        }
        int status = head.status();
        if (status < 200 && status != 101) {
            startHead(); // interim: the proxy answered Expect itself; the final head follows
            return;
        }
        if (status == 101) {
            state = State.UPGRADED;
            Listener told = listener;
            listener = null;
            told.head(head, ResponseHead.Framing.CLOSE, null);
            return;
        }
        ResponseHead.Framing framing = head.framing(headRequest);
        payload = 0;
        switch (framing) {
            case NONE -> {
                listener.head(head, framing, arrivedIn);
                end();
            }
            case LENGTH -> {
                state = State.LENGTH;
                remaining = head.contentLength();
                if (listener.head(head, framing, arrivedIn)) {
                    arrivedIn.skipBytes((int) remaining); // taken with the head
                    payload = remaining;
                    remaining = 0;
                    end();
                }
            }
            case CHUNKED -> {
                state = State.CHUNK_SIZE;
                remaining = -1;
                listener.head(head, framing, arrivedIn);
            }
            case CLOSE -> {
                state = State.CLOSE;
                listener.head(head, framing, arrivedIn);
            }
        }
    }

    /** The chunked state machine over all of {@code in}; the framing goes on unless payloadOnly. */
    private void readChunked(ByteBuf in) {
        int i = in.readerIndex();
        int limit = in.writerIndex();
        int rawFrom = i;
        while (i < limit && state != State.FAILED) {
            byte c = in.getByte(i);
            switch (state) {
                case CHUNK_SIZE -> {
                    int digit = Character.digit(c, 16);
                    if (digit >= 0) {
                        if (remaining > (Long.MAX_VALUE >> 4)) {
                            fail("chunk size too large");
                            return;
                        }
                        remaining = (remaining < 0 ? 0 : remaining << 4) + digit;
                    } else if (remaining < 0) {
                        fail("bad chunk size");
                        return;
                    } else if (c == '\r') {
                        state = State.CHUNK_SIZE_LF;
                    } else if (c == ';') {
                        state = State.CHUNK_EXT;
                    } else if (c == ' ' || c == '\t') {
                        state = State.CHUNK_SIZE_WS;
                    } else {
                        fail("bad chunk size");
                        return;
                    }
                }
                case CHUNK_SIZE_WS -> {
                    if (c == ';') {
                        state = State.CHUNK_EXT;
                    } else if (c != ' ' && c != '\t') {
                        fail("bad chunk size");
                        return;
                    }
                }
                case CHUNK_EXT -> {
                    if (c == '\r') {
                        state = State.CHUNK_SIZE_LF;
                    } else if (HttpTokens.isControl(c)) {
                        fail("control character in a chunk extension");
                        return;
                    }
                }
                case CHUNK_SIZE_LF -> {
                    if (c != '\n') {
                        fail("bad chunk size line");
                        return;
                    }
                    if (remaining == 0) {
                        state = State.TRAILER_START;
                        trailerBytes = 0;
                    } else {
                        state = State.CHUNK_DATA;
                    }
                }
                case CHUNK_DATA -> {
                    int n = (int) Math.min(remaining, limit - i);
                    if (payloadOnly) {
                        listener.body(in.retainedSlice(i, n));
                    }
                    remaining -= n;
                    payload += n;
                    i += n - 1;
                    if (remaining == 0) {
                        state = State.CHUNK_DATA_CR;
                    }
                }
                case CHUNK_DATA_CR -> {
                    if (c != '\r') {
                        fail("chunk longer than its size");
                        return;
                    }
                    state = State.CHUNK_DATA_LF;
                }
                case CHUNK_DATA_LF -> {
                    if (c != '\n') {
                        fail("chunk longer than its size");
                        return;
                    }
                    state = State.CHUNK_SIZE;
                    remaining = -1;
                }
                case TRAILER_START -> {
                    if (c == '\r') {
                        state = State.TRAILER_END_LF;
                    } else if (c < 0 || !tokenChar(c)) {
                        fail("bad trailer field");
                        return;
                    } else {
                        state = State.TRAILER_NAME;
                    }
                }
                case TRAILER_NAME -> {
                    if (c == ':') {
                        state = State.TRAILER_LINE;
                    } else if (c < 0 || !tokenChar(c)) {
                        fail("bad trailer field");
                        return;
                    }
                }
                case TRAILER_LINE -> {
                    if (c == '\r') {
                        state = State.TRAILER_LF;
                    } else if (HttpTokens.isControl(c)) {
                        fail("control character in a trailer field");
                        return;
                    }
                }
                case TRAILER_LF -> {
                    if (c != '\n') {
                        fail("bare CR in a trailer field");
                        return;
                    }
                    state = State.TRAILER_START;
                }
                case TRAILER_END_LF -> {
                    if (c != '\n') {
                        fail("bad end of chunked body");
                        return;
                    }
                    if (!payloadOnly) {
                        pass(in, rawFrom, i + 1 - rawFrom);
                    }
                    in.readerIndex(i + 1);
                    end();
                    return;
                }
                default -> throw new IllegalStateException(state.name());
            }
            if (state.ordinal() >= State.TRAILER_START.ordinal() && ++trailerBytes > MAX_TRAILER_BYTES) {
                fail("trailer too large");
                return;
            }
            i++;
        }
        if (!payloadOnly && i > rawFrom) {
            pass(in, rawFrom, i - rawFrom);
        }
        in.readerIndex(i);
    }

    private static boolean tokenChar(byte c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
    }

    private void pass(ByteBuf in, int from, int n) {
        if (n > 0) {
            listener.body(in.retainedSlice(from, n));
        }
    }

    private void end() {
        state = State.IDLE;
        Listener done = listener;
        listener = null;
        done.end(payload);
    }

    private void fail(String why) {
        state = State.FAILED;
        Listener told = listener;
        listener = null;
        if (told != null) {
            told.malformed(why);
        }
    }

    /** The app broke HTTP (perhaps between responses, with nobody listening): the connection is useless. */
    boolean failed() {
        return state == State.FAILED;
    }
}
