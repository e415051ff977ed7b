package dev.emperor.jail;

import com.sun.jna.LastErrorException;
import dev.emperor.jail.cgroup.TenantCgroup;
import dev.emperor.jail.seccomp.SeccompCompiler;
import dev.emperor.jail.seccomp.SeccompPolicy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fds one helper run gets from the JVM, and the fixed numbers it finds them at: the
 * report channel, the tenant's cgroup.procs files, the seccomp program, for enter the
 * tenant's mount namespace, and fds 0-2. All are opened close-on-exec here, so no other
 * process the JVM spawns meanwhile can inherit them.
 */
final class HelperFds implements AutoCloseable {
    final HelperReport report;
    private final List<Integer> cgroupFds = new ArrayList<>();
    private int seccompFd = -1;
    private int mntnsFd = -1;
    private int rootPlaceholder = -1;
    private final Stdio stdio;

    private HelperFds(Stdio stdio) {
        this.stdio = stdio;
        this.report = new HelperReport();
    }

    static HelperFds open(TenantCgroup cgroup, SeccompPolicy seccomp, Stdio stdio, String tenant) {
        return open(cgroup.procsFiles(), seccomp, stdio, tenant);
    }

    /** As above, joining the cgroup whose cgroup.procs files are procsFiles. */
    static HelperFds open(List<Path> procsFiles, SeccompPolicy seccomp, Stdio stdio, String tenant) {
        HelperFds fds = new HelperFds(stdio);
        try {
            for (Path procs : procsFiles) {
                try {
                    fds.cgroupFds.add(LibC.INSTANCE.open(procs.toString(), LibC.O_WRONLY | LibC.O_CLOEXEC, 0));
                } catch (LastErrorException e) {
                    throw LibC.failure("open cgroup", procs + " of tenant " + tenant, e);
                }
            }
            fds.seccompFd = HelperProcess.pipeHolding(SeccompCompiler.compile(seccomp), "seccomp program of tenant " + tenant);
            return fds;
        } catch (RuntimeException e) {
            fds.close();
            throw e;
        }
    }

    /**
     * For enter: the tenant's mount namespace, which the helper joins (never the JVM's
     * thread). Borrowed: the caller closes it.
     */
    void passMountNamespace(int fd) {
        mntnsFd = fd;
    }

    /**
     * For init: reserves the root fd's place. The root itself can only be opened on the setup
     * thread once it is mounted ({@link HelperProcess#replace}); until then the place holds
     * /dev/null, which the helper's fchdir refuses, so a root never placed fails closed.
     */
    void reserveRoot(String tenant) {
        try {
            rootPlaceholder = LibC.INSTANCE.open("/dev/null", LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw LibC.failure("open", "/dev/null for tenant " + tenant, e);
        }
    }

    /** The helper's options naming the fds. */
    List<String> options() {
        List<String> options = new ArrayList<>(List.of("--report-fd", Integer.toString(HelperProcess.REPORT_FD)));
        for (int i = 0; i < cgroupFds.size(); i++) {
            options.add("--cgroup-fd");
            options.add(Integer.toString(HelperProcess.FIRST_CGROUP_FD + i));
        }
        options.add("--seccomp-fd");
        options.add(Integer.toString(HelperProcess.SECCOMP_FD));
        if (mntnsFd >= 0) {
            options.add("--mntns-fd");
            options.add(Integer.toString(HelperProcess.MNTNS_FD));
        }
        if (rootPlaceholder >= 0) {
            options.add("--root-fd");
            options.add(Integer.toString(HelperProcess.ROOT_FD));
        }
        if (stdio.logReadEnd() >= 0) {
            options.add("--log-read-fd");
            options.add(Integer.toString(Jail.INIT_LOG_READ_FD));
        }
        return options;
    }

    /** Child fd -> JVM fd. */
    Map<Integer, Integer> layout() {
        Map<Integer, Integer> layout = new LinkedHashMap<>();
        layout.put(0, stdio.stdin());
        layout.put(1, stdio.stdout());
        layout.put(2, stdio.stderr());
        layout.put(HelperProcess.REPORT_FD, report.writeFd());
        layout.put(HelperProcess.SECCOMP_FD, seccompFd);
        if (mntnsFd >= 0) layout.put(HelperProcess.MNTNS_FD, mntnsFd);
        if (rootPlaceholder >= 0) layout.put(HelperProcess.ROOT_FD, rootPlaceholder);
        if (stdio.logReadEnd() >= 0) layout.put(Jail.INIT_LOG_READ_FD, stdio.logReadEnd());
        for (int i = 0; i < cgroupFds.size(); i++) layout.put(HelperProcess.FIRST_CGROUP_FD + i, cgroupFds.get(i));
        return layout;
    }

    /**
     * After the spawn: the child has its own copies, so ours go, above all the report's write
     * end: as long as we hold it, the report channel never reaches end-of-file.
     */
    /**
     * After posix_spawn: closes our copies of the child's fds and waits for the helper's
     * verdict. Returns the started process once the payload has been exec'd; throws the
     * helper's failed step otherwise.
     */
    TenantProcess awaitExec(String tenant, int pid, int pidfd, String step, String what) {
        closeAfterSpawn();
        String failure = report.await(Spawner.REPORT_TIMEOUT_MILLIS, what);
        if (failure != null) throw HelperReport.toException(failure, what);
        long startTime = ProcStat.startTimeOf(pid)
                .orElseThrow(() -> new JailException(step, what + ": process " + pid + " vanished at once"));
        return new TenantProcess(tenant, pid, startTime, pidfd, true);
    }

    void closeAfterSpawn() {
        report.closeWriteEnd();
        closeInputs();
    }

    private void closeInputs() {
        cgroupFds.forEach(LibC::closeQuietly);
        cgroupFds.clear();
        LibC.closeQuietly(seccompFd);
        seccompFd = -1;
        LibC.closeQuietly(rootPlaceholder);
        rootPlaceholder = -1;
    }

    @Override
    public void close() {
        closeInputs();
        report.close();
    }
}
