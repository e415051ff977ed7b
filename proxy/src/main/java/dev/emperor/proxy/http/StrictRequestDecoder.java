package dev.emperor.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Netty's request decoder in its strictest configuration (CRLF only, RFC 9112
 * Transfer-Encoding rules, no duplicate Content-Length, validated header names and values),
 * plus the one thing it accepts silently: obs-fold. Netty joins a continuation line onto the
 * previous header; a backend that does not would read a different header set, so a folded
 * head is refused (400) instead. To see the fold, the head is inspected whole before Netty
 * parses it. A request without a body comes out as one {@link FullHttpRequest} (with no
 * content), not a head followed by an empty end; a plainly well-formed one that came in one
 * read never reaches Netty's parser at all ({@link BodilessRequestHead}, a single pass).
 *
 * <p>It also keeps the slowloris limit: once a read leaves the first bytes of a head waiting
 * here, the whole head must follow within the header-read timeout, however slowly the client
 * drips it, or the connection is closed. (Here rather than in a handler of its own: the
 * decoder knows where heads start and end, and every request then makes one hop fewer.)
 */
final class StrictRequestDecoder extends HttpRequestDecoder {

    static final int MAX_REQUEST_LINE = 8192;

    private final int maxHeadBytes;
    private final int maxHeaderBytes;
    private final long headTimeoutNanos;
    private boolean atHead = true;
    /** This read decoded something; and the timer closing a head that takes too long. */
    private boolean decodedThisRead;
    private ScheduledFuture<?> headTimer;
    private boolean failed;
    /** Head bytes already examined (from the reader index), and whether one was a fold. */
    private int scanned;
    private boolean folded;
    /** The scratch array holds the head from its first byte (it came in one read). */
    private boolean wholeInScratch;

    /** Where head bytes are examined; one per event loop thread, grown as heads need. */
    private static final FastThreadLocal<byte[]> SCRATCH = new FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
            return new byte[4096];
        }
    };

    StrictRequestDecoder(int maxHeaderBytes, long headTimeoutNanos) {
        super(config(maxHeaderBytes));
        this.maxHeadBytes = MAX_REQUEST_LINE + maxHeaderBytes + 4;
        this.maxHeaderBytes = maxHeaderBytes;
        this.headTimeoutNanos = headTimeoutNanos;
    }

    /** Netty's decoder settings: its strictest. */
    static HttpDecoderConfig config(int maxHeaderBytes) {
        return new HttpDecoderConfig()
                .setMaxInitialLineLength(MAX_REQUEST_LINE)
                .setMaxHeaderSize(maxHeaderBytes)
                .setMaxChunkSize(64 * 1024)
                .setValidateHeaders(true)
                .setAllowDuplicateContentLengths(false)
                .setStrictLineParsing(true)
                .setUseRfc9112TransferEncoding(true);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (atHead) {
            int end = headEnd(in);
            if (end < 0 && in.readableBytes() <= maxHeadBytes) {
                return; // wait for the whole head; the header-read timeout bounds the wait
            }
            boolean folded = this.folded;
            scanned = 0;
            this.folded = false;
            if (end >= 0 && !folded && wholeInScratch) {
                FullHttpRequest quick = BodilessRequestHead.parse(SCRATCH.get(), end, MAX_REQUEST_LINE, maxHeaderBytes);
                if (quick != null) {
                    in.skipBytes(end);
                    headArrived();
                    out.add(quick);
                    return;
                }
            }
            if (end >= 0 && folded) {
                in.skipBytes(in.readableBytes());
                failed = true;
                HttpMessage invalid = createInvalidMessage();
                invalid.setDecoderResult(io.netty.handler.codec.DecoderResult.failure(
                        new IllegalArgumentException("obs-fold in request head")));
                out.add(invalid);
                return;
            }
        }
        int before = out.size();
        super.decode(ctx, in, out);
        for (int i = before; i < out.size(); i++) {
            Object decoded = out.get(i);
            if (decoded instanceof HttpRequest) {
                headArrived();
            }
            if (decoded instanceof HttpRequest request && !(decoded instanceof FullHttpRequest)
                    && request.decoderResult().isSuccess() && i + 1 < out.size()
                    && out.get(i + 1) == LastHttpContent.EMPTY_LAST_CONTENT) {
                // A request without a body (most of them) travels the pipeline as one message
                // rather than a head and an empty end: half the handler calls.
                out.set(i, new DefaultFullHttpRequest(request.protocolVersion(), request.method(), request.uri(),
                        Unpooled.EMPTY_BUFFER, request.headers(), EmptyHttpHeaders.INSTANCE));
                out.remove(i + 1);
                atHead = true;
                continue;
            }
            if (decoded instanceof HttpMessage message) {
                atHead = false;
                failed |= message.decoderResult().isFailure();
            }
            if (decoded instanceof LastHttpContent last) {
                atHead = true;
                failed |= last.decoderResult().isFailure();
            }
        }
    }

    private void headArrived() {
        decodedThisRead = true;
        cancelHeadTimer();
    }

    private void cancelHeadTimer() {
        if (headTimer != null) {
            headTimer.cancel(false);
            headTimer = null;
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        decodedThisRead |= !atHead; // body bytes: no head is being waited for
        super.channelRead(ctx, msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        // Bytes came in at a head's place and made no request: part of a head sits here.
        if (!decodedThisRead && atHead && headTimer == null && !failed) {
            headTimer = ctx.executor().schedule(() -> {
                headTimer = null;
                if (atHead) {
                    ctx.close();
                }
            }, headTimeoutNanos, TimeUnit.NANOSECONDS);
        }
        decodedThisRead = false;
        super.channelReadComplete(ctx);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) throws Exception {
        cancelHeadTimer();
        super.handlerRemoved0(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        cancelHeadTimer();
        super.channelInactive(ctx);
    }

    /**
     * Offset (from the reader index) just past the blank line ending the head, or -1 if it has
     * not all arrived. A bare LF ends the search early: Netty's strict line parsing refuses it
     * at once. On the way, notes a line break followed by a space or tab: a folded header.
     * Only bytes not seen by an earlier call are examined, copied out in one go (per-byte reads
     * of a direct buffer are checked one by one).
     */
    private int headEnd(ByteBuf in) {
        int avail = Math.min(in.readableBytes(), maxHeadBytes + 1);
        int from = Math.max(0, scanned - 3); // three bytes back: the context of the next one
        if (avail <= scanned) {
            return -1;
        }
        byte[] b = SCRATCH.get();
        if (b.length < avail - from) {
            b = new byte[Math.max(avail - from, b.length * 2)];
            SCRATCH.set(b);
        }
        in.getBytes(in.readerIndex() + from, b, 0, avail - from);
        wholeInScratch = from == 0;
        for (int j = scanned; j < avail; j++) {
            byte c = b[j - from];
            if (c == '\n') {
                if (j == 0 || b[j - from - 1] != '\r') {
                    return j + 1;
                }
                if (j >= 3 && b[j - from - 2] == '\n' && b[j - from - 3] == '\r') {
                    return j + 1;
                }
            } else if ((c == ' ' || c == '\t') && j > 0 && b[j - from - 1] == '\n') {
                folded = true;
            }
        }
        scanned = avail;
        return -1;
    }
}
