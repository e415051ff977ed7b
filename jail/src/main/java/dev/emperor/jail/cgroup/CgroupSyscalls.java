package dev.emperor.jail.cgroup;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import dev.emperor.jail.JailException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

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
     * SIGKILLs those of {@code candidates} that are still members of the cgroup. A pid read
     * from cgroup.procs may exit and be reused by an unrelated process before we signal it; so
     * every candidate is first pinned with a pidfd, membership is read once more, and only the
     * pinned processes still inside are signalled, through their pidfds. Processes already
     * gone (ESRCH) are not an error.
     */
    static void sigkillMembers(Set<Integer> candidates, Supplier<Set<Integer>> members) {
        Map<Integer, Integer> pinned = new HashMap<>(); // pid -> pidfd
        try {
            for (int pid : candidates) {
                try {
                    pinned.put(pid, (int) LibC.INSTANCE.syscall(SYS_PIDFD_OPEN, pid, 0));
                } catch (LastErrorException e) {
                    if (e.getErrorCode() != ESRCH) throw new JailException("pidfd_open " + pid, strerror(e.getErrorCode()), e);
                }
            }
            Set<Integer> inside = members.get(); // exited, and the number now names someone else: not here
            for (Map.Entry<Integer, Integer> p : pinned.entrySet()) {
                if (!inside.contains(p.getKey())) continue;
                try {
                    LibC.INSTANCE.syscall(SYS_PIDFD_SEND_SIGNAL, p.getValue(), SIGKILL, null, 0);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() != ESRCH) throw new JailException("kill " + p.getKey(), strerror(e.getErrorCode()), e);
                }
            }
        } finally {
            for (int pidfd : pinned.values()) {
                try {
                    LibC.INSTANCE.close(pidfd);
                } catch (LastErrorException ignored) {
                    // nothing to release
                }
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
