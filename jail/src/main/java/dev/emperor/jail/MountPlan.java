package dev.emperor.jail;

import dev.emperor.jail.MountOp.Bind;
import dev.emperor.jail.MountOp.BindRoot;
import dev.emperor.jail.MountOp.ByHelper;
import dev.emperor.jail.MountOp.Devpts;
import dev.emperor.jail.MountOp.InRoot;
import dev.emperor.jail.MountOp.Mask;
import dev.emperor.jail.MountOp.Mkdir;
import dev.emperor.jail.MountOp.MountPointFile;
import dev.emperor.jail.MountOp.Proc;
import dev.emperor.jail.MountOp.ReadOnly;
import dev.emperor.jail.MountOp.Remount;
import dev.emperor.jail.MountOp.Symlink;
import dev.emperor.jail.MountOp.Tmpfs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A tenant's filesystem as data: the ordered list of {@link MountOp}s that turns the distro into
 * its root, computed from the {@link JailSpec} alone (no root, no syscalls), so it can be tested
 * and printed ({@code emperor check -v}). The spawn thread runs the {@link InRoot} steps
 * ({@link RootMounter}); the {@link ByHelper} steps become the helper's {@code --proc},
 * {@code --mask} and {@code --ro} options ({@link #helperOptions()}), which it applies in that
 * order after {@code pivot_root}.
 */
public final class MountPlan {
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
    private static final long NOSUID_NODEV = LibC.MS_NOSUID | LibC.MS_NODEV;

    private final List<MountOp> ops;

    private MountPlan(List<MountOp> ops) {
        this.ops = List.copyOf(ops);
    }

    /** The plan for spec; refuses in-tenant paths that are not clean and absolute. */
    public static MountPlan of(JailSpec spec) {
        validate(spec);
        List<MountOp> ops = new ArrayList<>();
        // The distro is shared by many tenants: nobody may change it, and no set-uid binary
        // or device node in it may grant anything.
        ops.add(new BindRoot(spec.distroRoot()));
        ops.add(new Remount("/", LibC.MS_RDONLY | NOSUID_NODEV));
        // Private /tmp with a size, so a tenant can neither see others' files nor fill the host.
        ops.add(new Tmpfs("/tmp", NOSUID_NODEV, "mode=1777,size=" + spec.tmpBytes()));
        addDev(ops, spec.tmpBytes());
        // The tenant's /run (and so Debian's /var/run -> /run) is its host run directory:
        // the proxy and the shell entry reach its sockets there without networking.
        addBind(ops, spec.runDir(), "/run", NOSUID_NODEV);
        addHome(ops, spec);
        // /opt: shared software, same for every tenant, so read-only.
        if (spec.optDir() != null) addBind(ops, spec.optDir(), "/opt", LibC.MS_RDONLY | NOSUID_NODEV);
        for (BindMount b : spec.binds()) {
            addBind(ops, b.source(), b.target(), (b.writable() ? 0 : LibC.MS_RDONLY) | NOSUID_NODEV);
        }
        // The helper's part, in the order it applies them: /proc, masks, read-only paths. The
        // read-only bind is recursive, so masks under it stay in place.
        ops.add(new Proc());
        for (String path : MASKED_PATHS) ops.add(new Mask(path));
        for (String path : READ_ONLY_PATHS) ops.add(new ReadOnly(path));
        return new MountPlan(ops);
    }

    /** Checks the spec's in-tenant paths before anything happens. */
    static void validate(JailSpec spec) {
        requireCleanAbsolute(spec.homePath(), "home path");
        for (BindMount b : spec.binds()) requireCleanAbsolute(b.target(), "bind target");
        if (spec.tmpBytes() <= 0) throw new JailException("mount plan", "tenant " + spec.name() + ": /tmp size must be positive");
    }

    /** Every step, in the order it runs. */
    public List<MountOp> ops() {
        return ops;
    }

    /** The steps the spawn thread runs, in order. */
    List<InRoot> inRoot() {
        List<InRoot> steps = new ArrayList<>();
        for (MountOp op : ops) if (op instanceof InRoot step) steps.add(step);
        return steps;
    }

    /** One line per step, in the order they run. */
    public List<String> describe() {
        return ops.stream().map(MountOp::describe).toList();
    }

    /** The helper's options for the {@link ByHelper} steps: {@code --proc}, {@code --mask P}, {@code --ro P}. */
    List<String> helperOptions() {
        List<String> options = new ArrayList<>();
        for (MountOp op : ops) {
            if (!(op instanceof ByHelper step)) continue;
            switch (step) {
                case Proc p -> options.add("--proc");
                case Mask m -> options.addAll(List.of("--mask", m.path()));
                case ReadOnly r -> options.addAll(List.of("--ro", r.path()));
            }
        }
        return options;
    }

    /** A minimal /dev of our own instead of the host's: no disks, no kernel memory, no hardware. */
    private static void addDev(List<MountOp> ops, long shmBytes) {
        ops.add(new Tmpfs("/dev", NOSUID_NODEV | LibC.MS_NOEXEC, "mode=755,size=" + DEV_SIZE));
        for (String name : DEVICES) {
            // Each device is its own bind mount of the host node, so /dev being nodev and
            // later read-only does not affect it.
            ops.add(new MountPointFile("/dev/" + name));
            ops.add(new Bind(Path.of("/dev", name), "/dev/" + name));
        }
        // A private devpts instance: the tenant's terminals are invisible to other tenants.
        ops.add(new Mkdir("/dev/pts", 0755));
        ops.add(new Devpts("/dev/pts", LibC.MS_NOSUID | LibC.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"));
        ops.add(new Symlink("/dev/ptmx", "pts/ptmx"));
        // POSIX shared memory, private and bounded like /tmp.
        ops.add(new Mkdir("/dev/shm", 01777));
        ops.add(new Tmpfs("/dev/shm", NOSUID_NODEV, "mode=1777,size=" + shmBytes));
        ops.add(new Symlink("/dev/fd", "/proc/self/fd"));
        ops.add(new Symlink("/dev/stdin", "/proc/self/fd/0"));
        ops.add(new Symlink("/dev/stdout", "/proc/self/fd/1"));
        ops.add(new Symlink("/dev/stderr", "/proc/self/fd/2"));
        // Finished: nobody adds device nodes or files to /dev from now on.
        ops.add(new Remount("/dev", LibC.MS_RDONLY | NOSUID_NODEV | LibC.MS_NOEXEC));
    }

    private static void addHome(List<MountOp> ops, JailSpec spec) {
        String homePath = spec.homePath();
        if (!homePath.startsWith("/home/")) {
            // Elsewhere the distro must provide the mount point.
            addBind(ops, spec.homeDir(), homePath, NOSUID_NODEV);
            return;
        }
        // /home holds only this tenant's home: other tenants' names are not even listed.
        ops.add(new Tmpfs("/home", NOSUID_NODEV | LibC.MS_NOEXEC, "mode=755,size=" + HOME_SIZE));
        for (int slash = homePath.indexOf('/', "/home/".length()); slash >= 0; slash = homePath.indexOf('/', slash + 1)) {
            ops.add(new Mkdir(homePath.substring(0, slash), 0755));
        }
        ops.add(new Mkdir(homePath, 0755));
        addBind(ops, spec.homeDir(), homePath, NOSUID_NODEV);
        ops.add(new Remount("/home", LibC.MS_RDONLY | NOSUID_NODEV | LibC.MS_NOEXEC));
    }

    /** A bind, then its flags: a bind mount ignores them until it is remounted. */
    private static void addBind(List<MountOp> ops, Path source, String target, long flags) {
        ops.add(new Bind(source, target));
        ops.add(new Remount(target, flags));
    }

    private static void requireCleanAbsolute(String path, String what) {
        if (path == null || !path.startsWith("/") || path.equals("/") || path.endsWith("/") || path.contains("//")
                || path.contains("\0") || path.contains("/./") || path.contains("/../")
                || path.endsWith("/.") || path.endsWith("/..")) {
            throw new JailException("mount plan", what + " must be a clean absolute path below /: " + path);
        }
    }
}
