package dev.emperor.jail;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import dev.emperor.jail.MountOp.Bind;
import dev.emperor.jail.MountOp.BindRoot;
import dev.emperor.jail.MountOp.Devpts;
import dev.emperor.jail.MountOp.InRoot;
import dev.emperor.jail.MountOp.Mkdir;
import dev.emperor.jail.MountOp.MountPointFile;
import dev.emperor.jail.MountOp.Remount;
import dev.emperor.jail.MountOp.Symlink;
import dev.emperor.jail.MountOp.Tmpfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Runs the spawn thread's steps of a {@link MountPlan}: builds a tenant's root under a host
 * directory, on a setup thread that has its own (private) mount namespace. Nothing here is
 * visible on the host, and if the thread fails half-way its mount namespace, with every mount
 * made so far, dies with it.
 *
 * <p>Every path inside the root is resolved with openat2(RESOLVE_IN_ROOT), which treats the root
 * as "/" for absolute symlinks and "..", and the mount is made onto /proc/self/fd/N. A distro
 * symlink such as Debian's /var/run -> /run, or a hostile one in a tenant-built distro,
 * therefore can never make a mount land on the host.
 */
final class RootMounter {
    private final Path root;
    private final String tenant;
    private Path distro; // named in resolve errors: a bad symlink is the distro's
    private int rootFd = -1;
    private Memory how; // openat2's open_how while run() runs
    /**
     * Parent directories already resolved, by path: /dev gets a dozen files, links and
     * directories in a row, and each lookup is two JNA calls (open, close). A mount at or
     * above a cached path drops it: the path then names the mount's directory.
     */
    private final Map<String, Integer> parents = new HashMap<>();

    /** Mounts onto root, the jail's mount point; tenant names the tenant in error messages. */
    RootMounter(Path root, String tenant) {
        this.root = root;
        this.tenant = tenant;
    }

    /** Runs the plan's steps in order. The caller has unshared CLONE_NEWNS and made "/" rprivate. */
    void run(MountPlan plan) {
        try (Memory how = openHow()) {
            this.how = how;
            for (InRoot step : plan.inRoot()) run(step);
        } finally {
            parents.values().forEach(LibC::closeQuietly);
            parents.clear();
            LibC.closeQuietly(rootFd);
            rootFd = -1;
            this.how = null;
        }
    }

    /** openat2's struct open_how, the same for every lookup: made once per plan. */
    private static Memory openHow() {
        Memory how = new Memory(24);
        how.setLong(0, LibC.O_PATH | LibC.O_CLOEXEC); // flags
        how.setLong(8, 0); // mode
        how.setLong(16, LibC.RESOLVE_IN_ROOT | LibC.RESOLVE_NO_MAGICLINKS); // resolve
        return how;
    }

    private void run(InRoot step) {
        switch (step) {
            case BindRoot b -> bindRoot(b.distro());
            case Bind b -> bind(b);
            case Remount r -> mountAt(r.target(), null, null, LibC.MS_REMOUNT | LibC.MS_BIND | r.flags(), null,
                    "remount " + r.target() + ((r.flags() & LibC.MS_RDONLY) != 0 ? " read-only" : ""));
            case Tmpfs t -> mountAt(t.target(), "tmpfs", "tmpfs", t.flags(), t.options(), "tmpfs on " + t.target());
            case Devpts d -> mountAt(d.target(), "devpts", "devpts", d.flags(), d.options(), "devpts on " + d.target());
            case Mkdir m -> inParent(m.path(), "mkdir", (dir, name) -> LibC.INSTANCE.mkdirat(dir, name, m.mode()));
            case MountPointFile f -> inParent(f.path(), "create", (dir, name) -> LibC.closeQuietly(LibC.INSTANCE.openat(dir,
                    name, LibC.O_CREAT | LibC.O_EXCL | LibC.O_RDONLY | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0666)));
            case Symlink s -> inParent(s.path(), "symlink", (dir, name) -> LibC.INSTANCE.symlinkat(s.linkTarget(), dir, name));
        }
    }

    private void bindRoot(Path distro) {
        this.distro = distro;
        try {
            LibC.INSTANCE.mount(distro.toString(), root.toString(), null, LibC.MS_BIND, null);
        } catch (LastErrorException e) {
            throw LibC.failure("mount", "bind distro " + distro + " onto " + root + " for tenant " + tenant, e);
        }
        // Opened after the bind, so that it is the bind's root: all later lookups start here.
        try {
            rootFd = LibC.INSTANCE.open(root.toString(), LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw LibC.failure("open", root.toString(), e);
        }
    }

    private void bind(Bind b) {
        try {
            mountAt(b.target(), b.source().toString(), null, LibC.MS_BIND, null, "bind " + b.source() + " onto " + b.target());
        } catch (JailException e) {
            // Looked at only on failure, so a spawn pays no stat per bind: the
            // error then names the missing host path, not a mount(2) errno.
            if (!Files.exists(b.source())) {
                throw new JailException("bind", b.source() + " for tenant " + tenant + ": No such file or directory");
            }
            throw e;
        }
    }

    /** mount(2) onto path inside the root, through an O_PATH fd resolved in the root. */
    private void mountAt(String path, String source, String fstype, long flags, String data, String what) {
        forgetParentsAtOrUnder(path);
        int fd = resolve(path);
        try {
            LibC.INSTANCE.mount(source, fdPath(fd), fstype, flags, data);
        } catch (LastErrorException e) {
            throw LibC.failure("mount", what + " for tenant " + tenant, e);
        } finally {
            LibC.closeQuietly(fd);
        }
    }

    /** A *at(2) call on path's last component, in its parent resolved inside the root. */
    private void inParent(String path, String step, AtCall call) {
        int slash = path.lastIndexOf('/');
        String parent = slash == 0 ? "/" : path.substring(0, slash);
        Integer dir = parents.get(parent);
        if (dir == null) {
            dir = resolve(parent);
            parents.put(parent, dir);
        }
        try {
            call.run(dir, path.substring(slash + 1));
        } catch (LastErrorException e) {
            throw LibC.failure(step, path + " for tenant " + tenant, e);
        }
    }

    private void forgetParentsAtOrUnder(String mountPoint) {
        String below = mountPoint.equals("/") ? "/" : mountPoint + "/";
        parents.entrySet().removeIf(e -> {
            boolean covered = e.getKey().equals(mountPoint) || e.getKey().startsWith(below);
            if (covered) LibC.closeQuietly(e.getValue());
            return covered;
        });
    }

    private interface AtCall {
        void run(int dirFd, String name);
    }

    /** An O_PATH fd of path inside the tenant root, symlinks resolved as if the root were "/". */
    private int resolve(String path) {
        if (rootFd < 0) throw new IllegalStateException("the plan must start by binding the root");
        try {
            return (int) LibC.INSTANCE.syscall(LibC.SYS_OPENAT2, rootFd, path, how, 24);
        } catch (LastErrorException e) {
            throw LibC.failure("resolve", path + " in root " + distro + " of tenant " + tenant, e);
        }
    }

    private static String fdPath(int fd) {
        return "/proc/self/fd/" + fd;
    }
}
