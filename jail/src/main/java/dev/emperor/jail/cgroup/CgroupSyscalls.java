package dev.emperor.jail.cgroup;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import dev.emperor.jail.JailException;
import java.nio.file.Path;

/**
 * The two system calls the cgroup code needs in a form Java does not offer: kill(2) by pid,
 * and rmdir(2) with its errno (Java reports EBUSY only as a localised message, and cgroupfs
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

        int kill(int pid, int signal) throws LastErrorException;

        int rmdir(String path) throws LastErrorException;

        String strerror(int errnum);
    }

    private CgroupSyscalls() {}

    /** SIGKILLs pid; a process that is already gone (ESRCH) is not an error. */
    static void sigkill(int pid) {
        try {
            LibC.INSTANCE.kill(pid, SIGKILL);
        } catch (LastErrorException e) {
            if (e.getErrorCode() != ESRCH) {
                throw new JailException("kill " + pid, strerror(e.getErrorCode()), e);
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
