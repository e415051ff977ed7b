package dev.emperor.supervisor.logs;

import com.sun.jna.LastErrorException;
import java.io.IOException;

/**
 * The pipe a tenant's stdout and stderr write into. The tenant's processes hold only the write
 * end: they cannot truncate, seek in or fill a file of the emperor's, only wait when the pipe is
 * full. The emperor reads the other end ({@link LogPump}) and owns the files.
 *
 * <p>Both ends are close-on-exec in the emperor: only the processes the jail hands them to
 * (with dup2) get them. The read end is non-blocking, for the pump.
 */
final class LogPipe {
    /**
     * How much a tenant may write while no emperor reads (between a kill -9 and the next
     * start): its writes then wait, they never fail. Root may raise a pipe past
     * fs.pipe-max-size; the pages are charged to the cgroup of the process that writes them.
     */
    static final int CAPACITY = 1 << 20;

    private final int readFd;
    private int writeFd;

    private LogPipe(int readFd, int writeFd) {
        this.readFd = readFd;
        this.writeFd = writeFd;
    }

    /** A new pipe of {@link #CAPACITY} bytes. */
    static LogPipe create(String tenant) throws IOException {
        int[] fds = new int[2];
        try {
            LogSys.INSTANCE.pipe2(fds, LogSys.O_CLOEXEC);
        } catch (LastErrorException e) {
            throw new IOException("cannot make the log pipe of " + tenant + ": " + e.getMessage(), e);
        }
        LogPipe pipe = new LogPipe(fds[0], fds[1]);
        try {
            LogSys.INSTANCE.fcntl(fds[0], LogSys.F_SETPIPE_SZ, CAPACITY);
            pipe.makeReadEndNonBlocking(tenant);
            return pipe;
        } catch (LastErrorException e) {
            pipe.close();
            throw new IOException("cannot size the log pipe of " + tenant + ": " + e.getMessage(), e);
        } catch (IOException e) {
            pipe.close();
            throw e;
        }
    }

    /** The ends of a pipe that a tenant's pid 1 kept across an emperor restart (owned from now on). */
    static LogPipe adopt(String tenant, int readFd, int writeFd) throws IOException {
        LogPipe pipe = new LogPipe(readFd, writeFd);
        try {
            pipe.makeReadEndNonBlocking(tenant);
        } catch (IOException e) {
            pipe.close();
            throw e;
        }
        return pipe;
    }

    private void makeReadEndNonBlocking(String tenant) throws IOException {
        try {
            int flags = LogSys.INSTANCE.fcntl(readFd, LogSys.F_GETFL, 0);
            LogSys.INSTANCE.fcntl(readFd, LogSys.F_SETFL, flags | LogSys.O_NONBLOCK);
        } catch (LastErrorException e) {
            throw new IOException("log pipe of " + tenant + ": " + e.getMessage(), e);
        }
    }

    int readFd() {
        return readFd;
    }

    /** The write end, -1 once {@link #closeWriteEnd()} was called. */
    synchronized int writeFd() {
        return writeFd;
    }

    /**
     * Drops the emperor's copy of the write end: once the tenant's processes are gone too, the
     * reader sees end-of-file after the last line.
     */
    synchronized void closeWriteEnd() {
        LogSys.closeQuietly(writeFd);
        writeFd = -1;
    }

    /** Closes both ends (the read end only after the pump let go of it). */
    synchronized void close() {
        closeWriteEnd();
        LogSys.closeQuietly(readFd);
    }
}
