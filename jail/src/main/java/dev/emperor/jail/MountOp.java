package dev.emperor.jail;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One step of a tenant's {@link MountPlan}. Paths named as Strings are inside the tenant (its
 * "/" is the distro); host paths are {@link Path}s. Flags are mount(2)'s {@code MS_*} bits.
 *
 * <p>{@link InRoot} steps are made by the spawn thread ({@link RootMounter}), in the root under
 * the jails directory, before the helper starts; {@link ByHelper} steps are made by the helper
 * after {@code pivot_root}, from its {@code --proc}, {@code --mask} and {@code --ro} options.
 */
public sealed interface MountOp {
    /** The step as one line, e.g. {@code remount / ro,nosuid,nodev}. */
    String describe();

    /** A step of the spawn thread, in the tenant's root while it is still a host directory. */
    sealed interface InRoot extends MountOp {}

    /** A step of the helper, pid 1 of the tenant, once the root is its "/". */
    sealed interface ByHelper extends MountOp {}

    /** Bind the distro onto the jail's mount point: it becomes the tenant's "/". */
    record BindRoot(Path distro) implements InRoot {
        @Override
        public String describe() {
            return "bind " + distro + " onto /";
        }
    }

    /** Bind a host file or directory onto target (bind mounts ignore other flags: see {@link Remount}). */
    record Bind(Path source, String target) implements InRoot {
        @Override
        public String describe() {
            return "bind " + source + " onto " + target;
        }
    }

    /** Remount the mount at target with these flags (MS_REMOUNT | MS_BIND | flags). */
    record Remount(String target, long flags) implements InRoot {
        @Override
        public String describe() {
            return "remount " + target + " " + flagNames(flags);
        }
    }

    /** A new tmpfs on target, e.g. options {@code mode=1777,size=N}. */
    record Tmpfs(String target, long flags, String options) implements InRoot {
        @Override
        public String describe() {
            return "tmpfs on " + target + " " + flagNames(flags) + " " + options;
        }
    }

    /** A new devpts instance on target. */
    record Devpts(String target, long flags, String options) implements InRoot {
        @Override
        public String describe() {
            return "devpts on " + target + " " + flagNames(flags) + " " + options;
        }
    }

    /** A directory (its parent exists: made by an earlier step or the distro). */
    record Mkdir(String path, int mode) implements InRoot {
        @Override
        public String describe() {
            return "mkdir " + path + " " + String.format("%04o", mode);
        }
    }

    /**
     * An empty file to bind a device node onto. Opened read-only to create it: a process that
     * another tenant's spawn forks at that moment inherits the descriptor until its exec, and a
     * writable one would make the later remount of /dev read-only fail with EBUSY.
     */
    record MountPointFile(String path) implements InRoot {
        @Override
        public String describe() {
            return "create " + path + " (empty, opened read-only)";
        }
    }

    /** A symbolic link at path pointing to linkTarget. */
    record Symlink(String path, String linkTarget) implements InRoot {
        @Override
        public String describe() {
            return "symlink " + path + " -> " + linkTarget;
        }
    }

    /** The tenant's /proc (nosuid, nodev, noexec): only a process in its pid namespace can mount it. */
    record Proc() implements ByHelper {
        @Override
        public String describe() {
            return "helper: proc on /proc nosuid,nodev,noexec";
        }
    }

    /** Hide path: /dev/null over a file, an empty read-only tmpfs over a directory; skipped if missing. */
    record Mask(String path) implements ByHelper {
        @Override
        public String describe() {
            return "helper: mask " + path;
        }
    }

    /** Bind path onto itself, recursively, and remount it ro,nosuid,nodev,noexec; skipped if missing. */
    record ReadOnly(String path) implements ByHelper {
        @Override
        public String describe() {
            return "helper: read-only " + path;
        }
    }

    /** The MS_* flags as mount(8) names, e.g. "ro,nosuid,nodev", or "rw" for none of them. */
    static String flagNames(long flags) {
        List<String> names = new ArrayList<>();
        names.add((flags & LibC.MS_RDONLY) != 0 ? "ro" : "rw");
        if ((flags & LibC.MS_NOSUID) != 0) names.add("nosuid");
        if ((flags & LibC.MS_NODEV) != 0) names.add("nodev");
        if ((flags & LibC.MS_NOEXEC) != 0) names.add("noexec");
        return String.join(",", names);
    }
}
