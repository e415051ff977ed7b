package dev.emperor.tunrouter;

import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * The system calls of the packet path, direct-mapped: no proxy, no exception, no allocation per
 * call. A result of -1 means failure; {@link Native#getLastError()} then gives errno.
 */
final class PacketIo {
    static {
        Native.register("c");
    }

    private PacketIo() {}

    static native long read(int fd, Pointer buffer, long count);

    static native long write(int fd, Pointer buffer, long count);

    static native int epoll_wait(int epfd, Pointer events, int maxEvents, int timeoutMillis);

    static native int epoll_ctl(int epfd, int op, int fd, Pointer event);
}
