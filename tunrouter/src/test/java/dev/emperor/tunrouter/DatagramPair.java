package dev.emperor.tunrouter;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A connected pair of non-blocking AF_UNIX datagram sockets standing in for a tun descriptor in
 * unit tests: like a tun fd, each read gives one whole frame, and a write to an end whose peer
 * stops reading soon fails with EAGAIN. The pump gets {@link #pumpEnd}; the test plays the
 * kernel on {@link #testEnd}.
 */
final class DatagramPair implements AutoCloseable {
    interface Sys extends Library {
        Sys INSTANCE = Native.load("c", Sys.class);

        int socketpair(int domain, int type, int protocol, int[] fds) throws LastErrorException;

        long read(int fd, byte[] buffer, long count);

        long write(int fd, byte[] buffer, long count);

        int poll(Pointer fds, long count, int timeoutMillis);

        int close(int fd);

        int shutdown(int fd, int how);
    }

    private static final int AF_UNIX = 1;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_NONBLOCK = 04000;
    private static final int SOCK_CLOEXEC = 02000000;
    private static final short POLLIN = 1;
    private static final short POLLOUT = 4;

    final int pumpEnd;
    final int testEnd;

    DatagramPair() {
        int[] fds = new int[2];
        Sys.INSTANCE.socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds);
        pumpEnd = fds[0];
        testEnd = fds[1];
    }

    /** Sends one frame from the test end, waiting while the pump's end is full. */
    void send(ByteBuffer frame) {
        byte[] bytes = Arrays.copyOfRange(frame.array(), frame.position(), frame.limit());
        while (Sys.INSTANCE.write(testEnd, bytes, bytes.length) < 0) {
            if (!await(POLLOUT, 10_000)) {
                throw new AssertionError("the pump's end stayed full for 10 s");
            }
        }
    }

    /** The next frame arriving at the test end, or null if none comes within {@code timeoutMillis}. */
    byte[] receive(int timeoutMillis) {
        byte[] buffer = new byte[65536];
        long got = Sys.INSTANCE.read(testEnd, buffer, buffer.length);
        if (got < 0) {
            if (!await(POLLIN, timeoutMillis)) {
                return null;
            }
            got = Sys.INSTANCE.read(testEnd, buffer, buffer.length);
        }
        return got < 0 ? null : Arrays.copyOf(buffer, (int) got);
    }

    private boolean await(short events, int timeoutMillis) {
        try (Memory pollfd = new Memory(8)) {
            pollfd.setInt(0, testEnd);
            pollfd.setShort(4, events);
            pollfd.setShort(6, (short) 0);
            return Sys.INSTANCE.poll(pollfd, 1, timeoutMillis) > 0;
        }
    }

    /** From now on a write on {@link #pumpEnd} fails with EPIPE, not EAGAIN: a destination that refuses frames. */
    void refuseWrites() {
        Sys.INSTANCE.shutdown(testEnd, 0); // SHUT_RD
    }

    @Override
    public void close() {
        Sys.INSTANCE.close(pumpEnd);
        Sys.INSTANCE.close(testEnd);
    }
}
