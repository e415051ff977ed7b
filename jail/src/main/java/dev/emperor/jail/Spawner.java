package dev.emperor.jail;

import com.sun.jna.LastErrorException;
import dev.emperor.jail.cgroup.CgroupDriver;
import dev.emperor.jail.cgroup.TenantCgroup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Starts a tenant: the whole path from "thread created" to "payload exec'd", in order.
 *
 * <p>The JVM never forks. A fresh platform thread unshares the namespaces, builds the root
 * under a host directory (visible only in its new mount namespace), sets the hostname and
 * loopback, runs the caller's network hook, unshares the pid namespace and posix_spawn()s the helper, which becomes pid 1 of
 * the tenant, joins the cgroup, switches root, mounts /proc, drops privileges, installs the
 * seccomp filter and runs the payload. The thread then returns to the host's namespaces and
 * dies. The helper's report channel tells us whether the payload runs or which step failed.
 */
final class Spawner {
    static {
        // Pidfd is the one class the spawn thread uses after its pid unshare (openPidfdOrKill):
        // loaded here, on an ordinary thread, not first there. A load that failed there (seen
        // once in JailTest on a loaded machine: NoClassDefFoundError, Pidfd not found) is a
        // resolution error the JVM keeps: no later spawn of this JVM would ever succeed.
        Pidfd.class.getName();
    }

    /** A healthy helper reports within milliseconds; this only catches a stuck one. */
    static final long REPORT_TIMEOUT_MILLIS = 30_000;

    private final Path helper;
    private final Path jailsDir;
    private final CgroupDriver cgroups;

    Spawner(Path helper, Path jailsDir, CgroupDriver cgroups) {
        this.helper = helper;
        this.jailsDir = jailsDir;
        this.cgroups = cgroups;
    }

    TenantProcess spawn(JailSpec spec, Stdio stdio, NetworkHook network) {
        String name = spec.name();
        // Refuse what the helper would refuse anyway, before anything exists to clean up.
        requireUnprivileged(spec.uid(), spec.gid(), name);
        MountPlan mounts = MountPlan.of(spec);
        Path root = mountPoint(name);

        // The cgroup comes first: the helper joins it before it does anything else, so every
        // process of the tenant is limited and counted from birth.
        TenantCgroup cgroup = cgroups.create(name, spec.limits());
        if (!cgroup.pids().isEmpty()) {
            // Not ours to clean up: a running instance of this tenant owns those processes.
            throw new JailException("spawn", "tenant " + name + " still has processes in its cgroup: " + cgroup.pids());
        }
        int[] started = null; // {pid, pidfd}
        try (HelperFds fds = HelperFds.open(cgroup, spec.seccomp(), stdio, name)) {
            fds.reserveRoot(name);
            List<String> argv = initCommand(spec, mounts, fds);
            try (HelperProcess process = HelperProcess.prepare(helper, argv, spec.env(), fds.layout())) {
                started = SetupThread.run("emperor-spawn-" + name, () -> {
                    // New namespaces for this thread only; the JVM's other threads stay on the host.
                    // (The cgroup namespace is made by the helper, after it joined the cgroup,
                    // so that the cgroup becomes the tenant's cgroup root.)
                    Namespaces.unshare(LibC.CLONE_NEWNS | LibC.CLONE_NEWUTS | LibC.CLONE_NEWIPC | LibC.CLONE_NEWNET, name);
                    // Nothing mounted from here on may propagate to the host, or back.
                    Namespaces.makeMountsPrivate(name);
                    // The tenant's root under ROOT: read-only distro, private /tmp, /dev, /run, home.
                    new RootMounter(root, name).run(mounts);
                    Namespaces.setHostname(spec.hostname(), name);
                    LoopbackSetup.bringUp(name);
                    // The tenant's other interfaces (tun0), while this thread is in its netns.
                    network.inTenantNetns();
                    // The root goes to the helper as an fd, opened here where it is mounted:
                    // as a path it would show in the tenant's /proc/1/cmdline.
                    placeRoot(process, root, name);
                    // The pid namespace last: once this thread has unshared it, it cannot create
                    // threads, and the first process it spawns becomes the tenant's pid 1.
                    Namespaces.unshare(LibC.CLONE_NEWPID, name);
                    int pid = process.spawn();
                    return new int[] {pid, openPidfdOrKill(pid, name)};
                });
            }
            return fds.awaitExec(name, started[0], started[1], "spawn", "spawn of tenant " + name);
        } catch (RuntimeException e) {
            // Undo in the host: pid 1 (and with it the whole pid namespace, hence every
            // mount) goes away, then the cgroup. The mount point directory stays; it is ours.
            if (started != null) Pidfd.discard(started[1], e);
            try {
                cgroup.killAll();
                cgroup.remove();
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /** Opens the built root (O_PATH) and puts it at the helper's --root-fd. */
    private static void placeRoot(HelperProcess process, Path root, String tenant) {
        int fd;
        try {
            fd = LibC.INSTANCE.open(root.toString(), LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw LibC.failure("open root", root + " of tenant " + tenant, e);
        }
        try {
            process.replace(HelperProcess.ROOT_FD, fd);
        } finally {
            LibC.closeQuietly(fd);
        }
    }

    /** emperor-init init [options] -- ARGV, following the helper protocol; mounts gives --proc, --mask, --ro. */
    private static List<String> initCommand(JailSpec spec, MountPlan mounts, HelperFds fds) {
        // argv[0] is the bare name: the tenant reads /proc/1/cmdline, and adopt() checks it.
        List<String> argv = new ArrayList<>(List.of(HelperBinary.NAME_PREFIX, "init"));
        argv.addAll(fds.options());
        argv.add("--new-cgroupns");
        argv.addAll(mounts.helperOptions());
        argv.addAll(credentialOptions(spec.uid(), spec.gid(), spec.groups()));
        argv.addAll(List.of("--cwd", spec.cwd()));
        if (spec.ksm()) argv.add("--ksm");
        argv.add("--");
        argv.addAll(spec.argv());
        return argv;
    }

    static List<String> credentialOptions(int uid, int gid, List<Integer> groups) {
        List<String> options = new ArrayList<>(List.of("--uid", Integer.toString(uid), "--gid", Integer.toString(gid)));
        if (!groups.isEmpty()) {
            options.add("--groups");
            options.add(groups.stream().map(String::valueOf).collect(Collectors.joining(",")));
        }
        return options;
    }

    static void requireUnprivileged(int uid, int gid, String tenant) {
        if (uid <= 0 || gid <= 0) {
            throw new JailException("credentials", "tenant " + tenant + " must run as an unprivileged uid and gid, not "
                    + uid + ":" + gid);
        }
    }

    /**
     * pidfd_open right after the spawn, while the child cannot have been reaped yet (it is
     * ours and nobody else waits for it). If that fails, the child must not live on unseen.
     */
    static int openPidfdOrKill(int pid, String tenant) {
        try {
            return Pidfd.open(pid, tenant);
        } catch (JailException e) {
            try {
                LibC.INSTANCE.kill(pid, LibC.SIGKILL);
                try (com.sun.jna.Memory info = new com.sun.jna.Memory(LibC.SIGINFO_SIZE)) {
                    LibC.INSTANCE.waitid(LibC.P_PID, pid, info, LibC.WEXITED);
                }
            } catch (com.sun.jna.LastErrorException ignored) {
                // the pidfd_open failure is what the caller needs to see
            }
            throw e;
        }
    }

    /** JAILS/NAME, a root-owned 0755 directory; made once, kept for later spawns. */
    private Path mountPoint(String name) {
        Path root = jailsDir.resolve(name);
        try {
            Files.createDirectories(jailsDir);
            if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectory(root, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
            }
        } catch (IOException e) {
            throw new JailException("mount point", root + " for tenant " + name + ": " + e, e);
        }
        return root;
    }
}
