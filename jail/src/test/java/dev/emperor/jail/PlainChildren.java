package dev.emperor.jail;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Host processes started the way the jail starts its helper (posix_spawn, pidfd), for tests. */
final class PlainChildren {
    private PlainChildren() {}

    static TenantProcess sh(String script, Map<Integer, Integer> fds) {
        try (HelperProcess p = HelperProcess.prepare(Path.of("/bin/sh"), List.of("sh", "-c", script),
                List.of("PATH=/usr/bin:/bin"), fds)) {
            int pid = p.spawn();
            int pidfd = Pidfd.open(pid, "test");
            return new TenantProcess("test", pid, ProcStat.startTimeOf(pid).orElseThrow(), pidfd, true);
        }
    }

    /** A pipe as {read, write}, both close-on-exec. */
    static int[] pipe() {
        int[] fds = new int[2];
        LibC.INSTANCE.pipe2(fds, LibC.O_CLOEXEC);
        return fds;
    }

    /** Reads fd to EOF. */
    static String readAll(int fd) {
        StringBuilder out = new StringBuilder();
        byte[] buf = new byte[4096];
        long n;
        while ((n = LibC.INSTANCE.read(fd, buf, buf.length)) > 0) out.append(new String(buf, 0, (int) n));
        return out.toString();
    }
}
