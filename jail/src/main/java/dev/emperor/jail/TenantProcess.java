package dev.emperor.jail;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;

/**
 * A process the jail started (a tenant's pid 1, or a process that entered a tenant) or
 * re-adopted after an emperor restart, held through a pidfd: signals sent through it can never
 * reach another process that later got the same pid.
 *
 * <p>Close it when done; {@link PidfdReaper} keeps its own copy of the pidfd, so closing does
 * not stop a watch.
 */
public final class TenantProcess implements AutoCloseable {
    private final String tenant;
    private final int pid;
    private final long startTime;
    private final boolean ourChild;
    private int pidfd;

    TenantProcess(String tenant, int pid, long startTime, int pidfd, boolean ourChild) {
        this.tenant = tenant;
        this.pid = pid;
        this.startTime = startTime;
        this.pidfd = pidfd;
        this.ourChild = ourChild;
    }

    /** The tenant this process belongs to. */
    public String tenant() {
        return tenant;
    }

    /** The pid as the host sees it. */
    public int pid() {
        return pid;
    }

    /** Start time in clock ticks since boot; with {@link #pid()} it names this process for good. */
    public long startTime() {
        return startTime;
    }

    /**
     * True if this JVM started the process; only then does the kernel tell us its exit status
     * (an adopted process's status goes to whoever its parent is now).
     */
    public boolean isOurChild() {
        return ourChild;
    }

    /**
     * Sends signal sig. Returns false if the process has already exited (it may still be a
     * zombie waiting to be reaped, in which case the signal is simply lost).
     */
    public synchronized boolean signal(int sig) {
        int fd = openPidfd();
        try {
            LibC.INSTANCE.syscall(LibC.SYS_PIDFD_SEND_SIGNAL, fd, sig, null, 0);
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == LibC.ESRCH) return false;
            throw LibC.failure("pidfd_send_signal", "signal " + sig + " to pid " + pid + " of tenant " + tenant, e);
        }
    }

    /**
     * Sends signal sig to the process group this process leads (it was started in a session
     * of its own), so a job's children get it too. Only while the leader has not exited: until
     * its exit is reaped its pid, and so the group id, cannot belong to anyone else. Returns
     * false if the leader has exited.
     */
    public synchronized boolean signalGroup(int sig) {
        if (hasExited(openPidfd())) return false;
        try {
            LibC.INSTANCE.kill(-pid, sig);
        } catch (LastErrorException e) {
            if (e.getErrorCode() != LibC.ESRCH) {
                throw LibC.failure("kill", "signal " + sig + " to process group " + pid + " of tenant " + tenant, e);
            }
        }
        return signal(sig);
    }

    /** True until the process exits (a zombie counts as exited). */
    public synchronized boolean isAlive() {
        return !hasExited(openPidfd());
    }

    /**
     * For a process that must not live on after all (a later set-up step failed): SIGKILLs
     * it, reaps it if it is our child (so no zombie stays behind) and closes the pidfd.
     * Only for processes no {@link PidfdReaper} watches yet.
     */
    public synchronized void killAndReap() {
        if (pidfd < 0) return;
        if (ourChild) {
            Pidfd.killAndReap(pidfd);
        } else {
            signal(LibC.SIGKILL);
        }
        close();
    }

    /** Closes the pidfd; the process itself is not affected. */
    @Override
    public synchronized void close() {
        LibC.closeQuietly(pidfd);
        pidfd = -1;
    }

    /** Whether {@link #close()} has been called. */
    public synchronized boolean isClosed() {
        return pidfd < 0;
    }

    /** The pidfd itself, still owned by this object. */
    synchronized int pidfd() {
        return openPidfd();
    }

    /** A close-on-exec duplicate of the pidfd, owned by the caller. */
    synchronized int duplicatePidfd() {
        int fd = openPidfd();
        try {
            return LibC.INSTANCE.fcntl(fd, LibC.F_DUPFD_CLOEXEC, 3);
        } catch (LastErrorException e) {
            throw LibC.failure("dup pidfd", "pid " + pid + " of tenant " + tenant, e);
        }
    }

    /**
     * A close-on-exec copy of this process's fd {@code fd}, owned by the caller
     * (pidfd_getfd(2); root may, the tenant's own processes may not take from a non-dumpable
     * pid 1). E.g. {@link Jail#INIT_LOG_READ_FD} of a pid 1 adopted after an emperor restart.
     */
    public synchronized int copyFd(int fd) {
        try {
            return (int) LibC.INSTANCE.syscall(LibC.SYS_PIDFD_GETFD, openPidfd(), fd, null, 0);
        } catch (LastErrorException e) {
            throw LibC.failure("pidfd_getfd", "fd " + fd + " of pid " + pid + " of tenant " + tenant, e);
        }
    }

    /** Whether the process behind a pidfd has exited: the pidfd becomes readable then. */
    static boolean hasExited(int pidfd) {
        try (Memory pollfd = new Memory(8)) {
            pollfd.clear();
            pollfd.setInt(0, pidfd);
            pollfd.setShort(4, LibC.POLLIN);
            while (true) {
                try {
                    return LibC.INSTANCE.poll(pollfd, 1, 0) > 0;
                } catch (LastErrorException e) {
                    if (e.getErrorCode() != LibC.EINTR) throw LibC.failure("poll", "pidfd " + pidfd, e);
                }
            }
        }
    }

    private int openPidfd() {
        if (pidfd < 0) throw new IllegalStateException("process " + pid + " of tenant " + tenant + " is closed");
        return pidfd;
    }

    @Override
    public String toString() {
        return "TenantProcess[" + tenant + " pid " + pid + " started " + startTime + (ourChild ? "" : " adopted") + "]";
    }
}
