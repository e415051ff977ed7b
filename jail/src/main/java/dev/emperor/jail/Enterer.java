package dev.emperor.jail;

import com.sun.jna.LastErrorException;
import dev.emperor.jail.cgroup.CgroupDriver;
import dev.emperor.jail.cgroup.SessionCgroup;
import dev.emperor.jail.cgroup.TenantCgroup;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a command inside a running tenant (shell, cron job, attached daemon).
 *
 * <p>A fresh platform thread joins the tenant's uts, ipc, net, cgroup and pid namespaces and
 * posix_spawn()s the helper, which is therefore born inside the tenant's pid namespace. The
 * mount namespace is the one exception: the helper joins it (--mntns-fd), because a JVM thread
 * that saw the tenant's root would load the JVM's classes and libraries from it.
 */
final class Enterer {
    private final Path helper;
    private final CgroupDriver cgroups;

    Enterer(Path helper, CgroupDriver cgroups) {
        this.helper = helper;
        this.cgroups = cgroups;
    }

    /** session: a child cgroup of the tenant's to put the process in, or null for the tenant's own. */
    TenantProcess enter(TenantProcess init, EnterSpec spec, Stdio stdio, SessionCgroup session) {
        String name = init.tenant();
        Spawner.requireUnprivileged(spec.uid(), spec.gid(), name);
        if (stdio.logReadEnd() >= 0) throw new IllegalArgumentException("only a tenant's pid 1 keeps its log pipe's read end");
        // The pid must still be the tenant's pid 1, not a process that inherited its number.
        long startTime = ProcStat.startTimeOf(init.pid()).orElse(-1);
        if (startTime != init.startTime()) {
            throw new JailException("enter", "tenant " + name + " is not running (its pid 1, " + init.pid() + ", has exited)");
        }
        Map<String, Integer> namespaces = new LinkedHashMap<>();
        int mntns = -1;
        int[] started = null; // {pid, pidfd}
        try {
            for (String ns : Namespaces.ENTERED) namespaces.put(ns, openNamespace(init.pid(), ns, name));
            mntns = openNamespace(init.pid(), "mnt", name);
            // Still alive after the opens, so the files above were pid 1's own, not those of
            // a process that got its pid number in between.
            if (!init.isAlive()) throw new JailException("enter", "tenant " + name + " stopped while being entered");
            TenantCgroup cgroup = cgroups.open(name)
                    .orElseThrow(() -> new JailException("enter", "tenant " + name + " has no cgroup"));
            List<java.nio.file.Path> procsFiles = session != null ? session.procsFiles() : cgroup.procsFiles();
            try (HelperFds fds = HelperFds.open(procsFiles, spec.seccomp(), stdio, name)) {
                fds.passMountNamespace(mntns);
                List<String> argv = enterCommand(spec, fds);
                try (HelperProcess process = HelperProcess.prepare(helper, argv, spec.env(), fds.layout())) {
                    started = SetupThread.run("emperor-enter-" + name, () -> {
                        // uts, ipc, net, cgroup, then pid last: after that this thread can no
                        // longer create threads, and the child it spawns is born in the tenant.
                        for (var ns : namespaces.entrySet()) Namespaces.join(ns.getValue(), ns.getKey(), name);
                        int pid = process.spawn();
                        return new int[] {pid, Spawner.openPidfdOrKill(pid, name)};
                    });
                }
                return fds.awaitExec(name, started[0], started[1], "enter", "enter into tenant " + name);
            }
        } catch (RuntimeException e) {
            if (started != null) Pidfd.discard(started[1], e);
            throw e;
        } finally {
            namespaces.values().forEach(LibC::closeQuietly);
            LibC.closeQuietly(mntns);
        }
    }

    /** emperor-init enter [options] -- ARGV, following the helper protocol. */
    private static List<String> enterCommand(EnterSpec spec, HelperFds fds) {
        List<String> argv = new ArrayList<>(List.of(HelperBinary.NAME_PREFIX, "enter"));
        argv.addAll(fds.options());
        argv.addAll(Spawner.credentialOptions(spec.uid(), spec.gid(), spec.groups()));
        argv.addAll(List.of("--cwd", spec.cwd()));
        if (spec.newSession()) argv.add("--setsid");
        argv.add("--");
        argv.addAll(spec.argv());
        return argv;
    }

    private static int openNamespace(int pid, String ns, String tenant) {
        String path = "/proc/" + pid + "/ns/" + ns;
        try {
            return LibC.INSTANCE.open(path, LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw LibC.failure("open namespace", path + " of tenant " + tenant, e);
        }
    }
}
