package dev.emperor.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/**
 * Responses to an HTTP/1.x client, as bytes: the head rewritten from the app's
 * ({@link ResponseHead#encode}), the body as it came, the app's chunk framing included. A body
 * ended by the app's close goes to an HTTP/1.1 client in the proxy's own chunks, to an
 * HTTP/1.0 client as is, ended by closing. The end is told to the access log and the
 * pipelining gate directly ({@link Written}), not with a message down the pipeline; the
 * writes are flushed after the event loop's I/O batch ({@link LoopFlushes}).
 */
final class Http1ResponseWriter implements ResponseWriter {

    /** Told when a response has been written whole: first the access log, then the pipelining gate. */
    interface Written {
        void responseWritten(int status, long bodyBytes);
    }

    /**
     * A response body up to this size leaves in one buffer with its head (the app's read
     * buffer with the head rewritten in place, else a new one with the body copied in): one
     * write through the pipeline and one send, not a writev of two pieces.
     */
    static final int SMALL_BODY = 2048;
    private static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private final ChannelHandlerContext ctx;
    private final Written written;
    /** The client speaks HTTP/1.1: a body without a length can go to it chunked. */
    private boolean clientHttp11;
    /** The client asked to close after this response (HTTP/1.0, Connection: close). */
    private boolean clientClose;
    /** A close-delimited body going to an HTTP/1.1 client: the proxy frames it in chunks. */
    private boolean reChunk;
    private boolean closeAfter;
    /** The head of a small response, held until its body is in behind it. */
    private ByteBuf heldHead;

    /** Writes through {@code ctx}, the Forwarder's context. */
    Http1ResponseWriter(ChannelHandlerContext ctx, Written written) {
        this.ctx = ctx;
        this.written = written;
    }

    @Override
    public boolean upgradable(HttpRequest request) {
        return ForwardedHeaders.isWebSocketUpgrade(request);
    }

    @Override
    public void begin(HttpRequest request, boolean bodyOwed) {
        clientHttp11 = request.protocolVersion().equals(HttpVersion.HTTP_1_1);
        clientClose = !HttpUtil.isKeepAlive(request);
        reChunk = false;
        closeAfter = false;
        if (bodyOwed && HttpUtil.is100ContinueExpected(request)) {
            // Only now, once routed and within limits: a refused request (404, 413...)
            // got its answer instead and its body is never sent. (Expect does not go up.)
            ctx.writeAndFlush(Unpooled.wrappedBuffer(CONTINUE), ctx.voidPromise());
        }
    }

    @Override
    public boolean payloadOnly() {
        return !clientHttp11; // an HTTP/1.0 client knows no chunks
    }

    @Override
    public boolean head(ResponseHead head, ResponseHead.Framing framing, ByteBuf arrivedIn) {
        ResponseHead.Framing out = switch (framing) {
            case NONE, LENGTH -> framing;
            // A body without a length: chunked to an HTTP/1.1 client, else ended by closing.
            case CHUNKED, CLOSE -> clientHttp11 ? ResponseHead.Framing.CHUNKED : ResponseHead.Framing.CLOSE;
        };
        reChunk = framing == ResponseHead.Framing.CLOSE && clientHttp11;
        closeAfter = clientClose || out == ResponseHead.Framing.CLOSE;
        if (framing != ResponseHead.Framing.LENGTH || head.contentLength() > SMALL_BODY) {
            ctx.write(head.encode(ctx.alloc(), out, closeAfter), ctx.voidPromise());
            return false;
        }
        int length = (int) head.contentLength();
        if (arrivedIn != null && arrivedIn.readableBytes() >= length) {
            // Head and body came in one read: the client's head is written over the app's,
            // and both go out as one slice of that buffer, nothing copied.
            int start = head.encodeInPlace(arrivedIn, out, closeAfter);
            if (start >= 0) {
                heldHead = arrivedIn.retainedSlice(start, arrivedIn.readerIndex() - start + length);
                return true; // the parser skips the body: it is in the slice
            }
        }
        heldHead = head.encode(ctx.alloc(), out, closeAfter, length);
        return false;
    }

    @Override
    public boolean body(ByteBuf bytes) {
        if (heldHead != null && bytes.readableBytes() <= heldHead.writableBytes()) {
            heldHead.writeBytes(bytes);
            bytes.release();
            return false;
        }
        writeHeldHead();
        if (reChunk) {
            ChunkFraming.write(ctx, ctx.alloc(), bytes);
        } else {
            ctx.write(bytes, ctx.voidPromise());
        }
        return true;
    }

    @Override
    public void flushBlocked() {
        ctx.flush();
    }

    @Override
    public void upstreamReadComplete() {
        writeHeldHead(); // the rest of a small body is late: what there is goes now
        ctx.flush();
    }

    @Override
    public void end(int status, long payloadBytes) {
        writeHeldHead();
        if (reChunk) {
            ChunkFraming.writeLast(ctx, ctx.alloc());
        }
        written.responseWritten(status, payloadBytes);
        LoopFlushes.flushSoon(ctx.channel());
    }

    @Override
    public boolean closeAfter() {
        return closeAfter;
    }

    @Override
    public void abandon() {
        if (heldHead != null) {
            heldHead.release(); // the response is cut short: its head never goes
            heldHead = null;
        }
    }

    @Override
    public void switched(ResponseHead head) {
        // Written now, before the HTTP handlers leave the pipeline; the end is for the log.
        ctx.writeAndFlush(head.encodeSwitch(ctx.alloc()));
        written.responseWritten(101, 0);
    }

    /** Sends the held head (with what body it has) on its way. */
    private void writeHeldHead() {
        if (heldHead != null) {
            ctx.write(heldHead, ctx.voidPromise());
            heldHead = null;
        }
    }
}
