package dev.emperor.jail;

import dev.emperor.jail.cgroup.CgroupDriver;
import dev.emperor.jail.cgroup.SessionCgroup;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Starts tenants in their own namespaces, cgroup and root, runs commands inside them, and
 * finds them again after an emperor restart. Thread-safe; every spawn and enter runs on a
 * fresh platform thread of its own, so callers may be any kind of thread.
 *
 * <p>Exit statuses are delivered by a {@link PidfdReaper}: {@link #spawn} and {@link #enter}
 * return processes that are this JVM's children, which someone must watch (and so reap).
 */
public final class Jail {
    /**
     * Where a tenant's pid 1 keeps the read end of its log pipe ({@link Stdio#logReadEnd()}),
     * for {@link TenantProcess#copyFd} after an emperor restart. Below HelperProcess's parking
     * range, above every other numbered input of the helper.
     */
    public static final int INIT_LOG_READ_FD = 63;

    private final Path helper;
    private final CgroupDriver cgroups;
    private final Spawner spawner;
    private final Enterer enterer;

    public Jail(JailSettings settings) {
        // Loads the C library binding on this ordinary thread, never first on a spawn thread.
        LibC.INSTANCE.getClass();
        this.helper = settings.helperBinary() != null
                ? HelperBinary.verify(settings.helperBinary())
                : HelperBinary.extract(settings.helperDir());
        this.cgroups = settings.cgroups();
        this.spawner = new Spawner(helper, settings.jailsDir().toAbsolutePath(), cgroups);
        this.enterer = new Enterer(helper, cgroups);
    }

    /**
     * A new fd open read-only on /dev/null (close-on-exec), for a payload's stdin; the caller
     * closes it with {@link #closeFd} once the spawn returned.
     */
    public static int openDevNull() {
        try {
            return LibC.INSTANCE.open("/dev/null", LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        } catch (com.sun.jna.LastErrorException e) {
            throw LibC.failure("open", "/dev/null", e);
        }
    }

    /** Closes an fd this JVM opened for a spawn (log files, /dev/null). */
    public static void closeFd(int fd) {
        LibC.closeQuietly(fd);
    }

    /** The helper binary this jail runs. */
    public Path helperBinary() {
        return helper;
    }

    /**
     * Starts a tenant: creates (or updates) its cgroup, builds its namespaces and root, and
     * runs spec.argv() as the child of the tenant's pid 1. Returns pid 1 once the payload has
     * been exec'd. On failure nothing is left behind but the (empty) mount point directory:
     * the exception names the step that failed, e.g. "exec: sleepy: No such file or directory".
     */
    public TenantProcess spawn(JailSpec spec, Stdio stdio) {
        return spawn(spec, stdio, NetworkHook.NONE);
    }

    /**
     * As {@link #spawn(JailSpec, Stdio)}, and runs {@code network} on the spawn thread inside
     * the tenant's new network namespace, right after {@code lo} is up. If the hook or a later
     * step fails, the namespace (and whatever the hook made in it) dies with the spawn.
     */
    public TenantProcess spawn(JailSpec spec, Stdio stdio, NetworkHook network) {
        return spawner.spawn(spec, stdio, network);
    }

    /**
     * Runs a command in a running tenant, whose pid 1 is init: same namespaces, cgroup and
     * root, with the credentials and seccomp policy in spec. Returns once the command has
     * been exec'd.
     */
    public TenantProcess enter(TenantProcess init, EnterSpec spec, Stdio stdio) {
        return enterer.enter(init, spec, stdio, null);
    }

    /**
     * As {@link #enter(TenantProcess, EnterSpec, Stdio)}, with the process in session, a child
     * cgroup of the tenant's from {@link #newSessionCgroup}: everything it starts, however
     * detached, can be killed with the session.
     */
    public TenantProcess enter(TenantProcess init, EnterSpec spec, Stdio stdio, SessionCgroup session) {
        return enterer.enter(init, spec, stdio, session);
    }

    /** A new child cgroup NAME of the running tenant's cgroup; the caller closes it (kills and removes). */
    public SessionCgroup newSessionCgroup(String tenant, String name) {
        return cgroups.open(tenant)
                .orElseThrow(() -> new JailException("enter", "tenant " + tenant + " has no cgroup"))
                .newSession(name);
    }

    /**
     * Opens a new pseudo-terminal in the devpts instance of the running tenant whose pid 1 is
     * init, its slave owned by uid:gid, with the given window size (0 = leave unset). Pass
     * {@link TenantTerminal#slave()} as a {@link Stdio} to {@link #enter} with a new session:
     * it becomes the entered process's controlling terminal.
     */
    public TenantTerminal openTerminal(TenantProcess init, int uid, int gid, int rows, int cols) {
        Spawner.requireUnprivileged(uid, gid, init.tenant());
        return TenantTerminal.open(init, uid, gid, rows, cols);
    }

    /**
     * Finds a tenant's pid 1 again after an emperor restart: empty unless pid is alive, has
     * the recorded start time, is the helper's init and is in the tenant's cgroup. The result
     * is not our child: its exit status will be {@link ExitStatus#UNKNOWN}.
     */
    public Optional<TenantProcess> adopt(String name, int pid, long startTime) {
        if (pid <= 0 || ProcStat.startTimeOf(pid).orElse(-1) != startTime) return Optional.empty();
        // A pid 1 that never joined the tenant's cgroup (or left it) is not the tenant's.
        if (!cgroups.open(name).map(c -> c.pids().contains(pid)).orElse(false)) return Optional.empty();
        int pidfd;
        try {
            pidfd = Pidfd.open(pid, name);
        } catch (JailException e) {
            return Optional.empty(); // exited between the two looks
        }
        // Checked again through the pidfd: if the process behind it is still alive after the
        // reads below, the pid was not recycled in between and the reads describe it.
        OptionalLong now = ProcStat.startTimeOf(pid);
        List<String> cmdline = ProcStat.commandLineOf(pid).orElse(List.of());
        String program = cmdline.isEmpty() ? "" : cmdline.get(0).substring(cmdline.get(0).lastIndexOf('/') + 1);
        boolean isInit = cmdline.size() >= 2 && program.startsWith(HelperBinary.NAME_PREFIX) && cmdline.get(1).equals("init");
        if (now.orElse(-1) != startTime || !isInit || TenantProcess.hasExited(pidfd)) {
            LibC.closeQuietly(pidfd);
            return Optional.empty();
        }
        return Optional.of(new TenantProcess(name, pid, startTime, pidfd, false));
    }

    /**
     * Finds a process that entered a tenant (an attached daemon) again after an emperor
     * restart: empty unless pid is alive, has the recorded start time and lives in the pid
     * namespace of the tenant's pid 1, init. Not our child: its exit status is
     * {@link ExitStatus#UNKNOWN} (the tenant's pid 1 reaps it).
     */
    public Optional<TenantProcess> adoptEntered(TenantProcess init, int pid, long startTime) {
        if (pid <= 0 || ProcStat.startTimeOf(pid).orElse(-1) != startTime) return Optional.empty();
        int pidfd;
        try {
            pidfd = Pidfd.open(pid, init.tenant());
        } catch (JailException e) {
            return Optional.empty();
        }
        // Read after the pidfd is open and checked again through it, as in adopt().
        boolean sameTenant = pidNamespace(pid).filter(ns -> ns.equals(pidNamespace(init.pid()).orElse(null))).isPresent();
        if (!sameTenant || ProcStat.startTimeOf(pid).orElse(-1) != startTime || TenantProcess.hasExited(pidfd)
                || !init.isAlive()) {
            LibC.closeQuietly(pidfd);
            return Optional.empty();
        }
        return Optional.of(new TenantProcess(init.tenant(), pid, startTime, pidfd, false));
    }

    private static Optional<String> pidNamespace(int pid) {
        try {
            return Optional.of(java.nio.file.Files.readSymbolicLink(Path.of("/proc", Integer.toString(pid), "ns", "pid")).toString());
        } catch (java.io.IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Kills whatever is in the cgroup of a tenant that has no pid 1 this emperor watches, and
     * removes the cgroup: processes an earlier emperor started and died before it recorded
     * (or before it cleaned up). Returns the pids that were there (none: nothing was done but
     * removing an empty cgroup). Only for a tenant with no watched pid 1, or it kills that too.
     */
    public java.util.Set<Integer> killLeftovers(String name) {
        return cgroups.open(name).map(cgroup -> {
            java.util.Set<Integer> found = cgroup.pids();
            if (!found.isEmpty()) cgroup.killAll();
            cgroup.remove();
            return found;
        }).orElse(java.util.Set.of());
    }

    /**
     * Stops a tenant the hard way: SIGKILLs every process in its cgroup (and with pid 1 its
     * whole pid namespace), then removes the cgroup. Does nothing if it has no cgroup. The
     * watching {@link PidfdReaper} still reports pid 1's exit.
     */
    public void destroy(String name) {
        cgroups.open(name).ifPresent(cgroup -> {
            cgroup.killAll();
            cgroup.remove();
        });
    }
}
