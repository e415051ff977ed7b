package dev.emperor.jail.seccomp;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Installs the compiled program on one short-lived JVM thread (a seccomp filter without
 * TSYNC binds only the calling thread) and makes real system calls under it: the kernel's
 * own checker must accept the program, and the answers must be the kernel's.
 */
class SeccompKernelTest {
    static final int EPERM = 1, EBADF = 9, ENOSYS = 38;
    static final int PR_SET_NO_NEW_PRIVS = 38, PR_SET_SECCOMP = 22, SECCOMP_MODE_FILTER = 2;

    interface LibC extends Library {
        LibC INSTANCE = Native.load("c", LibC.class);

        int prctl(int option, long arg2, long arg3, long arg4, long arg5) throws LastErrorException;

        int prctl(int option, long arg2, Pointer arg3, long arg4, long arg5) throws LastErrorException;

        long syscall(long number, long arg1, long arg2, long arg3) throws LastErrorException;
    }

    /** The outcome of each probe: "ok" or the errno. */
    static Map<String, String> probe() {
        Map<String, String> results = new TreeMap<>();
        results.put("getpid", call(39, 0, 0, 0));
        results.put("keyctl", call(250, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0));
        results.put("umount2 NULL", call(166, 0, 0, 0));
        results.put("unshare NEWUTS", call(272, 0x04000000, 0, 0));
        results.put("ioctl TIOCSTI", call(16, -1, 0x5412, 0));
        results.put("ioctl TCGETS", call(16, -1, 0x5401, 0));
        results.put("clone3 NULL", call(435, 0, 0, 0));
        results.put("personality query", call(135, 0xffffffffL, 0, 0));
        results.put("personality READ_IMPLIES_EXEC", call(135, 0x0400000, 0, 0));
        results.put("io_uring_setup NULL", call(425, 1, 0, 0));
        results.put("socket AF_VSOCK", call(41, 40, 1 /* SOCK_STREAM */, 0));
        results.put("socket AF_ALG", call(41, 38, 5 /* SOCK_SEQPACKET */, 0));
        results.put("socket AF_INET bad type", call(41, 2, 99, 0)); // EINVAL: reached the kernel
        return results;
    }

    static String call(long nr, long a, long b, long c) {
        try {
            LibC.INSTANCE.syscall(nr, a, b, c);
            return "ok";
        } catch (LastErrorException e) {
            return "errno " + e.getErrorCode();
        }
    }

    static Map<String, String> onThread(byte[] filter) throws InterruptedException {
        AtomicReference<Map<String, String>> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread thread = new Thread(() -> {
            try {
                if (filter != null) {
                    Memory instructions = new Memory(filter.length);
                    instructions.write(0, filter, 0, filter.length);
                    Memory fprog = new Memory(16); // struct sock_fprog {u16 len; pad; sock_filter *filter}
                    fprog.clear();
                    fprog.setShort(0, (short) (filter.length / 8));
                    fprog.setPointer(8, instructions);
                    LibC.INSTANCE.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                    LibC.INSTANCE.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, fprog, 0, 0);
                }
                result.set(probe());
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "seccomp-probe");
        thread.start();
        thread.join();
        if (failure.get() != null) {
            throw new AssertionError("probe thread failed", failure.get());
        }
        return result.get();
    }

    @Test
    void theKernelAcceptsTheProgramAndAnswersAsThePolicySays() throws InterruptedException {
        // First the same probes unfiltered, so the test cannot pass because the host already
        // refuses these calls for some other reason.
        Map<String, String> unfiltered = onThread(null);
        assertThat(unfiltered).containsEntry("umount2 NULL", "errno 14") // EFAULT
                .containsEntry("ioctl TIOCSTI", "errno " + EBADF)
                .doesNotContainEntry("clone3 NULL", "errno " + ENOSYS)
                .doesNotContainEntry("keyctl", "errno " + EPERM)
                .containsEntry("io_uring_setup NULL", "errno 14"); // EFAULT: the kernel has io_uring

        Map<String, String> filtered = onThread(SeccompCompiler.compile(SeccompPolicy.DEFAULT));

        assertThat(filtered).containsEntry("getpid", "ok")
                .containsEntry("keyctl", "errno " + EPERM)
                .containsEntry("umount2 NULL", "errno " + EPERM)
                .containsEntry("unshare NEWUTS", "errno " + EPERM)
                .containsEntry("ioctl TIOCSTI", "errno " + EPERM)
                .containsEntry("ioctl TCGETS", "errno " + EBADF)
                .containsEntry("clone3 NULL", "errno " + ENOSYS)
                .containsEntry("personality query", "ok")
                .containsEntry("personality READ_IMPLIES_EXEC", "errno " + EPERM)
                .containsEntry("io_uring_setup NULL", "errno " + EPERM)
                .containsEntry("socket AF_VSOCK", "errno 97") // EAFNOSUPPORT
                .containsEntry("socket AF_ALG", "errno 97")
                .containsEntry("socket AF_INET bad type", "errno 22");
    }
}
