package dev.emperor.jail;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds a tenant's root filesystem under a host directory, on a setup thread that has its
 * own (private) mount namespace. Nothing here is visible on the host, and if the thread fails
 * half-way its mount namespace, with every mount made so far, dies with it.
 *
 * <p>Every mount point inside the root is resolved with openat2(RESOLVE_IN_ROOT), which treats
 * the root as "/" for absolute symlinks and "..", and the mount is made onto
 * /proc/self/fd/N. A distro symlink such as Debian's /var/run -> /run, or a hostile one in a
 * tenant-built distro, therefore can never make a mount land on the host.
 *
 * <p>/proc is the helper's part: only a process inside the new pid namespace can mount it
 * (see {@link #helperOptions()}).
 */
final class MountPlan {
    /** Host device nodes bound into the tenant's /dev; all are harmless to share. */
    private static final List<String> DEVICES = List.of("null", "zero", "full", "random", "urandom", "tty");

    /**
     * Paths hidden from the tenant (runc's defaults): kernel memory, other users' keys and
     * timing details that help side-channel attacks, and host hardware inventories.
     */
    static final List<String> MASKED_PATHS = List.of(
            "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/latency_stats",
            "/proc/acpi", "/proc/scsi", "/proc/asound", "/sys/firmware");

    /** Paths the tenant may read but not write: kernel tunables and triggers (runc's defaults). */
    static final List<String> READ_ONLY_PATHS = List.of(
            "/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs");

    private static final long DEV_SIZE = 64 * 1024;
    private static final long HOME_SIZE = 16 * 1024;

    private final JailSpec spec;
    private final Path root;
    private int rootFd = -1;

    MountPlan(JailSpec spec, Path root) {
        this.spec = spec;
        this.root = root;
    }

    /** Checks the spec's in-tenant paths before anything happens. */
    static void validate(JailSpec spec) {
        requireCleanAbsolute(spec.homePath(), "home path");
        for (BindMount b : spec.binds()) requireCleanAbsolute(b.target(), "bind target");
        if (spec.tmpBytes() <= 0) throw new JailException("mount plan", "tenant " + spec.name() + ": /tmp size must be positive");
    }

    /** The helper's options that finish the root from inside the new pid namespace. */
    static List<String> helperOptions() {
        List<String> options = new ArrayList<>();
        options.add("--proc");
        for (String p : MASKED_PATHS) {
            options.add("--mask");
            options.add(p);
        }
        for (String p : READ_ONLY_PATHS) {
            options.add("--ro");
            options.add(p);
        }
        return options;
    }

    /** Builds the root at {@code root}. The caller has unshared CLONE_NEWNS and made "/" rprivate. */
    void build() {
        try {
            mountRoot();
            mountTmp();
            mountDev();
            // The tenant's /run (and so Debian's /var/run -> /run) is its host run directory:
            // the proxy and the shell entry reach its sockets there without networking.
            bind(spec.runDir(), "/run", LibC.MS_NOSUID | LibC.MS_NODEV);
            mountHome();
            // /opt: shared software, same for every tenant, so read-only.
            if (spec.optDir() != null) bind(spec.optDir(), "/opt", LibC.MS_RDONLY | LibC.MS_NOSUID | LibC.MS_NODEV);
            for (BindMount b : spec.binds()) {
                // Checked here so the error names the host path, not a mount(2) errno.
                if (!Files.exists(b.source())) {
                    throw new JailException("bind", b.source() + " for tenant " + spec.name() + ": No such file or directory");
                }
                long readOnly = b.writable() ? 0 : LibC.MS_RDONLY;
                bind(b.source(), b.target(), readOnly | LibC.MS_NOSUID | LibC.MS_NODEV);
            }
        } finally {
            LibC.closeQuietly(rootFd);
            rootFd = -1;
        }
    }

    private void mountRoot() {
        String rootPath = root.toString();
        // The distro is shared by many tenants: nobody may change it, and no set-uid binary
        // or device node in it may grant anything.
        mount(spec.distroRoot().toString(), rootPath, null, LibC.MS_BIND, null, "bind distro " + spec.distroRoot() + " onto " + root);
        mount(null, rootPath, null, LibC.MS_REMOUNT | LibC.MS_BIND | LibC.MS_RDONLY | LibC.MS_NOSUID | LibC.MS_NODEV, null,
                "remount " + root + " read-only");
        // Opened after the bind, so that it is the bind's root: all later lookups start here.
        try {
            rootFd = LibC.INSTANCE.open(rootPath, LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw LibC.failure("open", root.toString(), e);
        }
    }

    private void mountTmp() {
        // Private /tmp with a size, so a tenant can neither see others' files nor fill the host.
        int fd = resolve("/tmp");
        try {
            mount("tmpfs", fdPath(fd), "tmpfs", LibC.MS_NOSUID | LibC.MS_NODEV, "mode=1777,size=" + spec.tmpBytes(),
                    "tmpfs on /tmp");
        } finally {
            LibC.closeQuietly(fd);
        }
    }

    private void mountDev() {
        LibC libc = LibC.INSTANCE;
        // A minimal /dev of our own instead of the host's: no disks, no kernel memory, no
        // hardware the tenant could reach.
        int under = resolve("/dev");
        try {
            mount("tmpfs", fdPath(under), "tmpfs", LibC.MS_NOSUID | LibC.MS_NODEV | LibC.MS_NOEXEC, "mode=755,size=" + DEV_SIZE,
                    "tmpfs on /dev");
        } finally {
            LibC.closeQuietly(under);
        }
        int dev = resolve("/dev"); // now the new tmpfs, which holds nothing but what we put there
        try {
            String devPath = fdPath(dev);
            for (String name : DEVICES) {
                // Each device is its own bind mount of the host node, so /dev being nodev and
                // later read-only does not affect it. The mount point is created read-only:
                // a process another tenant's spawn creates at this moment holds a copy of this
                // descriptor until its exec, and a writable one would make the remount of /dev
                // read-only below fail with EBUSY (seen when two tenants started together).
                try {
                    LibC.closeQuietly(libc.openat(dev, name,
                            LibC.O_CREAT | LibC.O_EXCL | LibC.O_RDONLY | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0666));
                } catch (LastErrorException e) {
                    throw LibC.failure("create", "/dev/" + name + " mount point for tenant " + spec.name(), e);
                }
                mount("/dev/" + name, devPath + "/" + name, null, LibC.MS_BIND, null, "bind /dev/" + name);
            }
            // A private devpts instance: the tenant's terminals are invisible to other tenants.
            mkdir(dev, "pts", 0755, "/dev/pts");
            mount("devpts", devPath + "/pts", "devpts", LibC.MS_NOSUID | LibC.MS_NOEXEC,
                    "newinstance,ptmxmode=0666,mode=0620", "devpts on /dev/pts");
            symlink("pts/ptmx", dev, "ptmx");
            // POSIX shared memory, private and bounded like /tmp.
            mkdir(dev, "shm", 01777, "/dev/shm");
            mount("tmpfs", devPath + "/shm", "tmpfs", LibC.MS_NOSUID | LibC.MS_NODEV,
                    "mode=1777,size=" + spec.tmpBytes(), "tmpfs on /dev/shm");
            symlink("/proc/self/fd", dev, "fd");
            symlink("/proc/self/fd/0", dev, "stdin");
            symlink("/proc/self/fd/1", dev, "stdout");
            symlink("/proc/self/fd/2", dev, "stderr");
            // Finished: nobody adds device nodes or files to /dev from now on.
            mount(null, devPath, null, LibC.MS_REMOUNT | LibC.MS_BIND | LibC.MS_RDONLY | LibC.MS_NOSUID | LibC.MS_NODEV | LibC.MS_NOEXEC,
                    null, "remount /dev read-only");
        } finally {
            LibC.closeQuietly(dev);
        }
    }

    private void mountHome() {
        long flags = LibC.MS_NOSUID | LibC.MS_NODEV;
        String homePath = spec.homePath();
        if (!homePath.startsWith("/home/")) {
            // Elsewhere the distro must provide the mount point.
            bind(spec.homeDir(), homePath, flags);
            return;
        }
        // /home holds only this tenant's home: other tenants' names are not even listed.
        int under = resolve("/home");
        try {
            mount("tmpfs", fdPath(under), "tmpfs", flags | LibC.MS_NOEXEC, "mode=755,size=" + HOME_SIZE, "tmpfs on /home");
        } finally {
            LibC.closeQuietly(under);
        }
        int home = resolve("/home");
        try {
            String relative = homePath.substring("/home/".length());
            int slash = -1;
            do {
                slash = relative.indexOf('/', slash + 1);
                String dir = slash < 0 ? relative : relative.substring(0, slash);
                mkdir(home, dir, 0755, "/home/" + dir);
            } while (slash >= 0);
            bind(spec.homeDir(), homePath, flags);
            mount(null, fdPath(home), null, LibC.MS_REMOUNT | LibC.MS_BIND | LibC.MS_RDONLY | flags | LibC.MS_NOEXEC, null,
                    "remount /home read-only");
        } finally {
            LibC.closeQuietly(home);
        }
    }

    /** Binds host path source onto target inside the root, then applies flags (bind mounts ignore them at first). */
    private void bind(Path source, String target, long flags) {
        int fd = resolve(target);
        try {
            mount(source.toString(), fdPath(fd), null, LibC.MS_BIND, null, "bind " + source + " onto " + target);
        } finally {
            LibC.closeQuietly(fd);
        }
        // Resolved again: the fd above is the directory under the new mount, not the mount.
        fd = resolve(target);
        try {
            mount(null, fdPath(fd), null, LibC.MS_REMOUNT | LibC.MS_BIND | flags, null, "remount " + target);
        } finally {
            LibC.closeQuietly(fd);
        }
    }

    /** An O_PATH fd of path inside the tenant root, symlinks resolved as if the root were "/". */
    private int resolve(String path) {
        try (Memory how = new Memory(24)) {
            how.setLong(0, LibC.O_PATH | LibC.O_CLOEXEC); // flags
            how.setLong(8, 0); // mode
            how.setLong(16, LibC.RESOLVE_IN_ROOT | LibC.RESOLVE_NO_MAGICLINKS); // resolve
            return (int) LibC.INSTANCE.syscall(LibC.SYS_OPENAT2, rootFd, path, how, 24);
        } catch (LastErrorException e) {
            throw LibC.failure("resolve", path + " in root " + spec.distroRoot() + " of tenant " + spec.name(), e);
        }
    }

    private void mount(String source, String target, String fstype, long flags, String data, String what) {
        try {
            LibC.INSTANCE.mount(source, target, fstype, flags, data);
        } catch (LastErrorException e) {
            throw LibC.failure("mount", what + " for tenant " + spec.name(), e);
        }
    }

    private void mkdir(int dirFd, String name, int mode, String what) {
        try {
            LibC.INSTANCE.mkdirat(dirFd, name, mode);
        } catch (LastErrorException e) {
            throw LibC.failure("mkdir", what + " for tenant " + spec.name(), e);
        }
    }

    private void symlink(String target, int dirFd, String name) {
        try {
            LibC.INSTANCE.symlinkat(target, dirFd, name);
        } catch (LastErrorException e) {
            throw LibC.failure("symlink", "/dev/" + name + " for tenant " + spec.name(), e);
        }
    }

    private static String fdPath(int fd) {
        return "/proc/self/fd/" + fd;
    }

    private static void requireCleanAbsolute(String path, String what) {
        if (path == null || !path.startsWith("/") || path.equals("/") || path.endsWith("/") || path.contains("//")
                || path.contains("\0") || path.contains("/./") || path.contains("/../")
                || path.endsWith("/.") || path.endsWith("/..")) {
            throw new JailException("mount plan", what + " must be a clean absolute path below /: " + path);
        }
    }
}
