package dev.emperor.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.List;

/**
 * Netty's request decoder in its strictest configuration (CRLF only, RFC 9112
 * Transfer-Encoding rules, no duplicate Content-Length, validated header names and values),
 * plus the one thing it accepts silently: obs-fold. Netty joins a continuation line onto the
 * previous header; a backend that does not would read a different header set, so a folded
 * head is refused (400) instead. To see the fold, the head is inspected whole before Netty
 * parses it.
 */
final class StrictRequestDecoder extends HttpRequestDecoder {

    static final int MAX_REQUEST_LINE = 8192;

    private final int maxHeadBytes;
    private boolean atHead = true;
    private boolean failed;

    StrictRequestDecoder(int maxHeaderBytes) {
        super(new HttpDecoderConfig()
                .setMaxInitialLineLength(MAX_REQUEST_LINE)
                .setMaxHeaderSize(maxHeaderBytes)
                .setMaxChunkSize(64 * 1024)
                .setValidateHeaders(true)
                .setAllowDuplicateContentLengths(false)
                .setStrictLineParsing(true)
                .setUseRfc9112TransferEncoding(true));
        this.maxHeadBytes = MAX_REQUEST_LINE + maxHeaderBytes + 4;
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
            if (end >= 0 && hasObsFold(in, end)) {
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

    /**
     * Index just past the blank line ending the head, or -1 if it has not all arrived. A bare
     * LF ends the search early: Netty's strict line parsing refuses it at once.
     */
    private static int headEnd(ByteBuf in) {
        int start = in.readerIndex();
        int limit = in.writerIndex();
        for (int i = start; i < limit; i++) {
            if (in.getByte(i) != '\n') {
                continue;
            }
            if (i == start || in.getByte(i - 1) != '\r') {
                return i + 1;
            }
            if (i >= start + 3 && in.getByte(i - 2) == '\n' && in.getByte(i - 3) == '\r') {
                return i + 1;
            }
        }
        return -1;
    }

    /** A line break followed by a space or tab, before the blank line, is a folded header. */
    private static boolean hasObsFold(ByteBuf in, int end) {
        for (int i = in.readerIndex(); i < end - 3; i++) {
            if (in.getByte(i) == '\n') {
                byte next = in.getByte(i + 1);
                if (next == ' ' || next == '\t') {
                    return true;
                }
            }
        }
        return false;
    }
}
