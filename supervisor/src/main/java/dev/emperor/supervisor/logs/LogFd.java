package dev.emperor.supervisor.logs;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A raw file descriptor open for appending on a tenant's log file, to be handed to the jail as
 * the tenant's stdout and stderr ({@code new Stdio(devNull, fd.fd(), fd.fd())}). The tenant then
 * writes its log itself, so its output keeps flowing while the emperor restarts.
 *
 * <p>Whoever opens it closes it, once the jail has its own copy (after the spawn).
 */
public final class LogFd implements AutoCloseable {

    // <fcntl.h>; these values are the same on x86-64 and arm64 (asm-generic).
    private static final int O_WRONLY = 01;
    private static final int O_CREAT = 0100;
    private static final int O_APPEND = 02000;
    private static final int O_CLOEXEC = 02000000;

    private interface LibC extends Library {
        LibC INSTANCE = Native.load("c", LibC.class);

        int open(String path, int flags, int mode) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    private final int fd;
    private volatile boolean closed;

    private LogFd(int fd) {
        this.fd = fd;
    }

    /**
     * O_APPEND: every write lands at the current end, even after rotation truncated the file
     * under the writer, and lines of the emperor and the tenant never overwrite each other.
     * O_CLOEXEC: the fd leaks into no other child; the jail dup2()s it into place for this one.
     */
    static LogFd openAppend(Path file) throws IOException {
        try {
            return new LogFd(LibC.INSTANCE.open(file.toString(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
        } catch (LastErrorException e) {
            throw new IOException("cannot open log " + file + ": " + e.getMessage(), e);
        }
    }

    /** The descriptor number; valid until {@link #close()}. */
    public int fd() {
        if (closed) {
            throw new IllegalStateException("log fd " + fd + " is closed");
        }
        return fd;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            LibC.INSTANCE.close(fd);
        } catch (LastErrorException e) {
            // close() releases the descriptor even when it reports an error; nothing to retry.
        }
    }
}
