package dev.emperor.jail;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;

/** Opening pidfds and collecting exit statuses through them (waitid with P_PIDFD). */
final class Pidfd {
    private Pidfd() {}

    /** pidfd_open(pid), close-on-exec (pidfds always are). */
    static int open(int pid, String tenant) {
        try {
            return (int) LibC.INSTANCE.syscall(LibC.SYS_PIDFD_OPEN, pid, 0);
        } catch (LastErrorException e) {
            throw LibC.failure("pidfd_open", "pid " + pid + " of tenant " + tenant, e);
        }
    }

    /**
     * Reaps the process behind pidfd. Returns its status; null if block is false and it has
     * not exited yet; {@link ExitStatus#UNKNOWN} if it is not our child (adopted), in which
     * case its parent reaps it.
     */
    static ExitStatus reap(int pidfd, boolean block) {
        try (Memory info = new Memory(LibC.SIGINFO_SIZE)) {
            info.clear();
            int options = LibC.WEXITED | (block ? 0 : LibC.WNOHANG);
            while (true) {
                try {
                    LibC.INSTANCE.waitid(LibC.P_PIDFD, pidfd, info, options);
                    break;
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == LibC.EINTR) continue;
                    if (e.getErrorCode() == LibC.ECHILD) return ExitStatus.UNKNOWN;
                    throw LibC.failure("waitid", "pidfd " + pidfd, e);
                }
            }
            // With WNOHANG and nothing to report, waitid leaves si_pid zero.
            if (info.getInt(LibC.SIGINFO_PID_OFFSET) == 0) return null;
            int code = info.getInt(LibC.SIGINFO_CODE_OFFSET);
            int status = info.getInt(LibC.SIGINFO_STATUS_OFFSET);
            return switch (code) {
                case LibC.CLD_EXITED -> ExitStatus.exited(status);
                case LibC.CLD_KILLED, LibC.CLD_DUMPED -> ExitStatus.killed(status);
                default -> null; // stopped/continued: WEXITED alone never reports these
            };
        }
    }

    /** SIGKILLs the process behind pidfd (if still alive) and reaps it if it is our child. */
    static void killAndReap(int pidfd) {
        try {
            LibC.INSTANCE.syscall(LibC.SYS_PIDFD_SEND_SIGNAL, pidfd, LibC.SIGKILL, null, 0);
        } catch (LastErrorException e) {
            // ESRCH: already gone; anything else: the reap below still tells the truth
        }
        reap(pidfd, true);
    }
}
