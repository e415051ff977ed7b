package dev.emperor.supervisor.logs;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/** The C library calls of the log pipes and their pump (x86-64 Linux, glibc). */
interface LogSys extends Library {
    LogSys INSTANCE = Native.load("c", LogSys.class);

    int O_CLOEXEC = 02000000;
    int O_NONBLOCK = 04000;
    int F_GETFL = 3;
    int F_SETFL = 4;
    int F_SETPIPE_SZ = 1031;
    int EAGAIN = 11;
    int EINTR = 4;

    int EPOLL_CLOEXEC = 02000000;
    int EPOLL_CTL_ADD = 1;
    int EPOLL_CTL_DEL = 2;
    int EPOLLIN = 0x001;
    int EPOLLHUP = 0x010;
    /** struct epoll_event is packed on x86-64: u32 events, then u64 data at offset 4. */
    int EPOLL_EVENT_SIZE = 12;
    int EFD_CLOEXEC = 02000000;
    int EFD_NONBLOCK = 04000;

    int pipe2(int[] fds, int flags) throws LastErrorException;

    int fcntl(int fd, int cmd, int arg) throws LastErrorException;

    long read(int fd, Pointer buffer, long count) throws LastErrorException;

    long write(int fd, Pointer buffer, long count) throws LastErrorException;

    int close(int fd) throws LastErrorException;

    int epoll_create1(int flags) throws LastErrorException;

    int epoll_ctl(int epfd, int op, int fd, Pointer event) throws LastErrorException;

    int epoll_wait(int epfd, Pointer events, int maxEvents, int timeoutMillis) throws LastErrorException;

    int eventfd(int initval, int flags) throws LastErrorException;

    static void closeQuietly(int fd) {
        if (fd < 0) return;
        try {
            INSTANCE.close(fd);
        } catch (LastErrorException e) {
            // close() releases the descriptor even when it reports an error; nothing to retry.
        }
    }
}
