package dev.emperor.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.FastThreadLocal;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A message head being assembled in a plain byte array, then copied into a buffer in one go.
 * Direct buffers pay bounds and liveness checks on every small write (per byte for text), and
 * a head is dozens of small pieces; an array pays for none of that. One per event loop thread.
 */
final class HeadBytes {

    private static final FastThreadLocal<HeadBytes> PER_THREAD = new FastThreadLocal<>() {
        @Override
        protected HeadBytes initialValue() {
            return new HeadBytes();
        }
    };

    private byte[] bytes = new byte[1024];
    private int length;

    /** This thread's instance, emptied. Only one head is assembled at a time per thread. */
    static HeadBytes start() {
        HeadBytes head = PER_THREAD.get();
        head.length = 0;
        return head;
    }

    HeadBytes add(byte[] src) {
        return add(src, 0, src.length);
    }

    HeadBytes add(byte[] src, int from, int count) {
        room(count);
        System.arraycopy(src, from, bytes, length, count);
        length += count;
        return this;
    }

    HeadBytes add(char c) {
        room(1);
        bytes[length++] = (byte) c;
        return this;
    }

    /** Header text as the decoder read it: one byte per char (ISO-8859-1, obs-text kept). */
    HeadBytes add(CharSequence text) {
        if (text instanceof AsciiString ascii) {
            return add(ascii.array(), ascii.arrayOffset(), ascii.length());
        }
        int count = text.length();
        room(count);
        for (int i = 0; i < count; i++) {
            bytes[length + i] = (byte) text.charAt(i);
        }
        length += count;
        return this;
    }

    /** A request target, UTF-8 encoded as Netty's encoder would (ASCII, the usual case, as is). */
    HeadBytes addUtf8(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) >= 0x80) {
                return add(text.getBytes(StandardCharsets.UTF_8));
            }
        }
        return add(text);
    }

    ByteBuf toBuffer(ByteBufAllocator alloc) {
        return toBuffer(alloc, 0);
    }

    /** The head in a buffer with {@code room} bytes to spare after it (for a small body). */
    ByteBuf toBuffer(ByteBufAllocator alloc, int room) {
        return alloc.directBuffer(length + room).writeBytes(bytes, 0, length);
    }

    int length() {
        return length;
    }

    /** Writes the head into {@code target} so that it ends at {@code end}; returns where it starts. */
    int writeEndingAt(ByteBuf target, int end) {
        target.setBytes(end - length, bytes, 0, length);
        return end - length;
    }

    private void room(int count) {
        if (length + count > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + count));
        }
    }
}
