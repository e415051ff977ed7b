package dev.emperor.supervisor.shell;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The unix-socket calls the shell entry needs and Java's own channels lack: SOCK_SEQPACKET,
 * file descriptors passed as SCM_RIGHTS, and SO_PEERCRED on a raw fd (x86_64 Linux, glibc).
 * Every fd made here is close-on-exec, including received ones (MSG_CMSG_CLOEXEC), so none
 * can reach a process the jail spawns unless it is named in its {@code Stdio}.
 */
final class ShellSocket {
    private ShellSocket() {}

    interface C extends Library {
        C INSTANCE = Native.load("c", C.class);

        int AF_UNIX = 1;
        int SOCK_SEQPACKET = 5;
        int SOCK_CLOEXEC = 02000000;
        int SOL_SOCKET = 1;
        int SO_PEERCRED = 17;
        int SO_RCVTIMEO = 20;
        int SO_SNDTIMEO = 21;
        int SCM_RIGHTS = 1;
        int MSG_CTRUNC = 0x08;
        int MSG_TRUNC = 0x20;
        int MSG_NOSIGNAL = 0x4000;
        int MSG_CMSG_CLOEXEC = 0x40000000;
        int O_CLOEXEC = 02000000;
        short POLLIN = 0x001;
        short POLLERR = 0x008;
        short POLLHUP = 0x010;
        short POLLRDHUP = 0x2000;
        int SHUT_RDWR = 2;
        int EINTR = 4;
        int EAGAIN = 11;
        int ESRCH = 3;

        int socket(int domain, int type, int protocol) throws LastErrorException;

        int bind(int fd, Pointer addr, int len) throws LastErrorException;

        int listen(int fd, int backlog) throws LastErrorException;

        int accept4(int fd, Pointer addr, Pointer len, int flags) throws LastErrorException;

        int getsockopt(int fd, int level, int name, Pointer value, Pointer len) throws LastErrorException;

        int setsockopt(int fd, int level, int name, Pointer value, int len) throws LastErrorException;

        long recvmsg(int fd, Pointer msg, int flags) throws LastErrorException;

        long sendmsg(int fd, Pointer msg, int flags) throws LastErrorException;

        int shutdown(int fd, int how) throws LastErrorException;

        int poll(Pointer fds, long nfds, int timeoutMillis) throws LastErrorException;

        int pipe2(int[] fds, int flags) throws LastErrorException;

        long read(int fd, byte[] buf, long count) throws LastErrorException;

        long write(int fd, byte[] buf, long count) throws LastErrorException;

        int kill(int pid, int sig) throws LastErrorException;

        int isatty(int fd);

        int close(int fd) throws LastErrorException;

        String strerror(int errnum);
    }

    /** Who is on the other end, as the kernel recorded it at connect(). */
    record Peer(int pid, int uid, int gid) {}

    /** One received frame: n bytes in the caller's buffer, and the fds that came with it. */
    record Received(int length, List<Integer> fds) {
        void closeFds() {
            fds.forEach(ShellSocket::closeQuietly);
        }
    }

    /** A listening SOCK_SEQPACKET socket bound at path (which must not exist). */
    static int listen(Path path) throws IOException {
        byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
        if (name.length >= 108) throw new IOException("shell socket path too long: " + path);
        int fd = -1;
        try (Memory addr = new Memory(110)) {
            addr.clear();
            addr.setShort(0, (short) C.AF_UNIX);
            addr.write(2, name, 0, name.length);
            fd = C.INSTANCE.socket(C.AF_UNIX, C.SOCK_SEQPACKET | C.SOCK_CLOEXEC, 0);
            C.INSTANCE.bind(fd, addr, 2 + name.length + 1);
            C.INSTANCE.listen(fd, 128);
            return fd;
        } catch (LastErrorException e) {
            closeQuietly(fd);
            throw failure("listen on " + path, e);
        }
    }

    /** The next connection (blocking); fails once the listening socket is shut down. */
    static int accept(int listenFd) throws IOException {
        while (true) {
            try {
                return C.INSTANCE.accept4(listenFd, null, null, C.SOCK_CLOEXEC);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != C.EINTR) throw failure("accept", e);
            }
        }
    }

    /** Wakes a thread blocked in accept() on fd (it then fails) and stops new connections. */
    static void shutdown(int fd) {
        try {
            C.INSTANCE.shutdown(fd, C.SHUT_RDWR);
        } catch (LastErrorException ignored) {
            // not connected or already shut: close() follows anyway
        }
    }

    static Peer peer(int fd) throws IOException {
        try (Memory cred = new Memory(12); Memory len = new Memory(4)) {
            len.setInt(0, 12);
            C.INSTANCE.getsockopt(fd, C.SOL_SOCKET, C.SO_PEERCRED, cred, len);
            return new Peer(cred.getInt(0), cred.getInt(4), cred.getInt(8));
        } catch (LastErrorException e) {
            throw failure("SO_PEERCRED", e);
        }
    }

    /** Receive and send timeouts, so a client that stalls cannot hold a session thread forever. */
    static void timeouts(int fd, int millis) throws IOException {
        try (Memory tv = new Memory(16)) {
            tv.setLong(0, millis / 1000);
            tv.setLong(8, (millis % 1000) * 1000L);
            C.INSTANCE.setsockopt(fd, C.SOL_SOCKET, C.SO_RCVTIMEO, tv, 16);
            C.INSTANCE.setsockopt(fd, C.SOL_SOCKET, C.SO_SNDTIMEO, tv, 16);
        } catch (LastErrorException e) {
            throw failure("setsockopt", e);
        }
    }

    /**
     * Receives one message into buf, with at most maxFds descriptors. Returns length 0 when
     * the peer has gone. A message larger than buf, or with more fds than fit, is an error
     * (every fd that did arrive is closed first).
     */
    static Received receive(int fd, byte[] buf, int maxFds) throws IOException, ShellProtocol.BadFrame {
        int controlLength = 16 + ((maxFds * 4 + 7) & ~7); // CMSG_SPACE(maxFds * sizeof(int))
        try (Memory data = new Memory(buf.length); Memory iov = new Memory(16); Memory control = new Memory(controlLength);
                Memory msg = new Memory(56)) {
            iov.setPointer(0, data);
            iov.setLong(8, buf.length);
            control.clear();
            msg.clear();
            msg.setPointer(16, iov);
            msg.setLong(24, 1);
            msg.setPointer(32, control);
            msg.setLong(40, controlLength);
            long n;
            while (true) {
                try {
                    n = C.INSTANCE.recvmsg(fd, msg, C.MSG_CMSG_CLOEXEC);
                    break;
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == C.EINTR) continue;
                    if (e.getErrorCode() == C.EAGAIN) throw new IOException("client sent nothing in time");
                    throw failure("recvmsg", e);
                }
            }
            List<Integer> fds = new ArrayList<>();
            long used = msg.getLong(40);
            for (long off = 0; off + 16 <= used; ) {
                long cmsgLen = control.getLong(off);
                if (cmsgLen < 16 || off + cmsgLen > used) break;
                if (control.getInt(off + 8) == C.SOL_SOCKET && control.getInt(off + 12) == C.SCM_RIGHTS) {
                    for (long p = off + 16; p + 4 <= off + cmsgLen; p += 4) fds.add(control.getInt(p));
                }
                off += (cmsgLen + 7) & ~7L;
            }
            Received received = new Received((int) n, fds);
            int flags = msg.getInt(48);
            if ((flags & (C.MSG_TRUNC | C.MSG_CTRUNC)) != 0) {
                received.closeFds();
                throw new ShellProtocol.BadFrame("frame too large or too many fds");
            }
            data.read(0, buf, 0, (int) n);
            return received;
        }
    }

    /** Sends one frame, with passFd attached if it is >= 0. */
    static void send(int fd, byte[] frame, int passFd) throws IOException {
        try (Memory data = new Memory(frame.length); Memory iov = new Memory(16); Memory control = new Memory(24);
                Memory msg = new Memory(56)) {
            data.write(0, frame, 0, frame.length);
            iov.setPointer(0, data);
            iov.setLong(8, frame.length);
            msg.clear();
            msg.setPointer(16, iov);
            msg.setLong(24, 1);
            if (passFd >= 0) {
                control.clear();
                control.setLong(0, 20); // CMSG_LEN(sizeof(int))
                control.setInt(8, C.SOL_SOCKET);
                control.setInt(12, C.SCM_RIGHTS);
                control.setInt(16, passFd);
                msg.setPointer(32, control);
                msg.setLong(40, 24); // CMSG_SPACE(sizeof(int))
            }
            while (true) {
                try {
                    C.INSTANCE.sendmsg(fd, msg, C.MSG_NOSIGNAL);
                    return;
                } catch (LastErrorException e) {
                    if (e.getErrorCode() != C.EINTR) throw failure("sendmsg", e);
                }
            }
        }
    }

    /**
     * Waits until one of fds is readable or hung up, at most timeoutMillis (-1 = forever).
     * Returns the index of the first ready fd, or -1 on timeout.
     */
    static int poll(int timeoutMillis, int... fds) throws IOException {
        try (Memory pollfds = new Memory(8L * fds.length)) {
            pollfds.clear();
            for (int i = 0; i < fds.length; i++) {
                pollfds.setInt(8L * i, fds[i]);
                pollfds.setShort(8L * i + 4, (short) (C.POLLIN | C.POLLRDHUP));
            }
            while (true) {
                try {
                    if (C.INSTANCE.poll(pollfds, fds.length, timeoutMillis) == 0) return -1;
                    break;
                } catch (LastErrorException e) {
                    if (e.getErrorCode() != C.EINTR) throw failure("poll", e);
                }
            }
            for (int i = 0; i < fds.length; i++) {
                if (pollfds.getShort(8L * i + 6) != 0) return i;
            }
            return -1;
        }
    }

    /** A close-on-exec pipe: {read, write}. */
    static int[] pipe() throws IOException {
        int[] fds = new int[2];
        try {
            C.INSTANCE.pipe2(fds, C.O_CLOEXEC);
            return fds;
        } catch (LastErrorException e) {
            throw failure("pipe2", e);
        }
    }

    static void writeByte(int fd) {
        try {
            C.INSTANCE.write(fd, new byte[] {1}, 1);
        } catch (LastErrorException ignored) {
            // the reader is gone: nobody is waiting for the news
        }
    }

    /** Whether fd is a terminal (any tty or pty end, the caller's own or not). */
    static boolean isTerminal(int fd) {
        return C.INSTANCE.isatty(fd) == 1;
    }

    /** kill(2); false if there is no such process (group). */
    static boolean kill(int pid, int sig) {
        try {
            C.INSTANCE.kill(pid, sig);
            return true;
        } catch (LastErrorException e) {
            return false;
        }
    }

    static void closeQuietly(int fd) {
        if (fd < 0) return;
        try {
            C.INSTANCE.close(fd);
        } catch (LastErrorException ignored) {
            // already closed: nothing to release
        }
    }

    private static IOException failure(String step, LastErrorException e) {
        return new IOException(step + ": " + C.INSTANCE.strerror(e.getErrorCode()), e);
    }
}
