package dev.emperor.jail.cgroup;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import dev.emperor.jail.JailException;
import java.nio.file.Path;

/**
 * The system calls the cgroup code needs in a form Java does not offer: a race-free SIGKILL
 * through a pidfd, and rmdir(2) with its errno (Java reports EBUSY only as a localised message, and cgroupfs
 * uses EBUSY for "processes or child cgroups left"). Private to this package; the jail's
 * general bindings live elsewhere.
 */
final class CgroupSyscalls {
    static final int ENOENT = 2;
    static final int ESRCH = 3;
    static final int EBUSY = 16;
    static final int ENOTEMPTY = 39;
    private static final int SIGKILL = 9;

    interface LibC extends Library {
        LibC INSTANCE = Native.load("c", LibC.class);

        long syscall(long number, Object... args) throws LastErrorException;

        int close(int fd) throws LastErrorException;

        int rmdir(String path) throws LastErrorException;

        String strerror(int errnum);
    }

    private CgroupSyscalls() {}

    private static final long SYS_PIDFD_SEND_SIGNAL = 424;
    private static final long SYS_PIDFD_OPEN = 434;

    /**
     * SIGKILLs pid if it is still a member of the cgroup. A pid read from cgroup.procs may
     * exit and be reused by an unrelated process before we signal it; so the process is pinned
     * with a pidfd first, its membership checked again, and only then signalled through the
     * pidfd. A process that is already gone (ESRCH) is not an error.
     */
    static void sigkillIfMember(int pid, java.util.function.IntPredicate isMember) {
        int pidfd;
        try {
            pidfd = (int) LibC.INSTANCE.syscall(SYS_PIDFD_OPEN, pid, 0);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == ESRCH) return;
            throw new JailException("pidfd_open " + pid, strerror(e.getErrorCode()), e);
        }
        try {
            if (!isMember.test(pid)) return; // exited, and the number now names someone else
            LibC.INSTANCE.syscall(SYS_PIDFD_SEND_SIGNAL, pidfd, SIGKILL, null, 0);
        } catch (LastErrorException e) {
            if (e.getErrorCode() != ESRCH) {
                throw new JailException("kill " + pid, strerror(e.getErrorCode()), e);
            }
        } finally {
            try {
                LibC.INSTANCE.close(pidfd);
            } catch (LastErrorException ignored) {
                // nothing to release
            }
        }
    }

    /** rmdir(2): 0 on success, else the errno. */
    static int rmdir(Path dir) {
        try {
            LibC.INSTANCE.rmdir(dir.toString());
            return 0;
        } catch (LastErrorException e) {
            return e.getErrorCode();
        }
    }

    static String strerror(int errno) {
        return LibC.INSTANCE.strerror(errno);
    }
}
