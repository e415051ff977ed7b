package dev.emperor.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelOutboundInvoker;
import java.nio.charset.StandardCharsets;

/**
 * HTTP/1.1 chunk framing for bytes the proxy frames itself: a request body going up chunked,
 * and a close-delimited response going to an HTTP/1.1 client. The data goes out as it is,
 * between a size line and a CRLF (no copy); writes take void promises (nothing waits on
 * them; a failure closes the connection).
 */
final class ChunkFraming {

    private static final short CRLF = ('\r' << 8) | '\n';
    private static final int LAST_CHUNK_HEAD = ('0' << 16) | ('\r' << 8) | '\n';

    private ChunkFraming() {
    }

    /** One chunk holding {@code data} (which must not be empty: an empty chunk is the last). */
    static void write(ChannelOutboundInvoker out, ByteBufAllocator alloc, ByteBuf data) {
        ByteBuf size = alloc.directBuffer(12);
        size.writeCharSequence(Integer.toHexString(data.readableBytes()), StandardCharsets.US_ASCII);
        out.write(size.writeShort(CRLF), out.voidPromise());
        out.write(data, out.voidPromise());
        out.write(alloc.directBuffer(2).writeShort(CRLF), out.voidPromise());
    }

    /** The last chunk, without trailer fields. */
    static void writeLast(ChannelOutboundInvoker out, ByteBufAllocator alloc) {
        out.write(alloc.directBuffer(5).writeMedium(LAST_CHUNK_HEAD).writeShort(CRLF), out.voidPromise());
    }
}
