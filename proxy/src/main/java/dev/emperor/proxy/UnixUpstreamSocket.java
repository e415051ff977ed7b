package dev.emperor.proxy;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A tenant's app socket, opened without following links. The tenant owns the directory the
 * socket lies in, so it can swap {@code app.sock} for a symbolic link to another tenant's
 * socket or to the root-only control socket; connecting by path would follow that link with
 * the proxy's (root) privileges. Instead the socket file itself is opened with
 * {@code O_PATH|O_NOFOLLOW}, checked to be a socket, and the connect goes to
 * {@code /proc/self/fd/N}, which names exactly that inode. Open one per connection attempt
 * (a restarted app makes a new socket) and {@link #close} it once the connect has completed.
 */
public final class UnixUpstreamSocket implements AutoCloseable {

    private static final int O_PATH = 010000000;
    private static final int O_NOFOLLOW = 0400000;
    private static final int O_CLOEXEC = 02000000;
    private static final int ELOOP = 40;
    private static final int ENOENT = 2;
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;
    private static final int S_IFLNK = 0120000;

    private interface LibC extends Library {
        LibC INSTANCE = Native.load("c", LibC.class);

        int open(String path, int flags) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    private final Path path;
    private int fd;

    private UnixUpstreamSocket(Path path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    /**
     * Opens the socket file at {@code path}; its directory's own path must be one the tenant
     * cannot change (e.g. {@code run-dir/vassals/NAME}, whose parent is root's).
     *
     * @throws IOException if it is missing, a symbolic link, or not a socket
     */
    public static UnixUpstreamSocket open(Path path) throws IOException {
        int fd;
        try {
            fd = LibC.INSTANCE.open(path.toString(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == ELOOP) {
                throw new IOException(path + " is a symbolic link; the proxy never follows one to an upstream");
            }
            if (e.getErrorCode() == ENOENT) {
                throw new IOException(path + " does not exist (is the app listening?)");
            }
            throw new IOException("open " + path + ": errno " + e.getErrorCode());
        }
        UnixUpstreamSocket socket = new UnixUpstreamSocket(path, fd);
        try {
            // stat through the magic link = fstat(fd): the inode we hold, not whatever the path names now
            int mode = (Integer) Files.getAttribute(socket.procPath(), "unix:mode");
            if ((mode & S_IFMT) == S_IFLNK) { // O_PATH|O_NOFOLLOW opens the link itself
                throw new IOException(path + " is a symbolic link; the proxy never follows one to an upstream");
            }
            if ((mode & S_IFMT) != S_IFSOCK) {
                throw new IOException(path + " is not a unix socket");
            }
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
        return socket;
    }

    private Path procPath() {
        return Path.of("/proc/self/fd/" + fd);
    }

    /** The address to connect to: the held inode, whatever happens to the path meanwhile. */
    public DomainSocketAddress address() {
        return new DomainSocketAddress(procPath().toString());
    }

    public Path path() {
        return path;
    }

    /** Closes the O_PATH descriptor; the connected channel does not need it. Idempotent. */
    @Override
    public synchronized void close() {
        if (fd >= 0) {
            try {
                LibC.INSTANCE.close(fd);
            } catch (LastErrorException ignored) {
                // EBADF cannot happen (we own fd); EINTR still released it on Linux
            }
            fd = -1;
        }
    }
}
