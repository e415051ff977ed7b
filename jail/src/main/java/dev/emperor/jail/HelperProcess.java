package dev.emperor.jail;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.StringArray;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One posix_spawn() of the helper (or any program), prepared in advance.
 *
 * <p>Everything is allocated and every fd duplicated in {@link #prepare} so that
 * {@link #spawn} does nothing but the call itself: it runs on a setup thread that has
 * unshared its pid namespace, and such a thread must not make the JVM start threads, which
 * native allocations through JNA can do.
 *
 * <p>The child gets exactly the fds in the layout: each source fd is first duplicated far
 * above the target numbers (so that one dup2 never overwrites the source of another), close
 * on exec, and dup2()'d to its target in the child, which clears close-on-exec on the copy.
 * Every other fd the JVM opened with close-on-exec vanishes on exec; the helper closes any
 * stray one first thing.
 */
final class HelperProcess implements AutoCloseable {
    /** Where the helper finds its inputs; the options name these numbers. */
    static final int REPORT_FD = 3;
    static final int SECCOMP_FD = 4;
    static final int MNTNS_FD = 5;
    /** init's counterpart of MNTNS_FD (enter only), hence the same number. */
    static final int ROOT_FD = 5;
    static final int FIRST_CGROUP_FD = 6;

    /** Duplicates of the sources live at or above this, well clear of every target. */
    private static final int PARKING_FD = 64;

    private final String program;
    private final List<Integer> parked = new ArrayList<>();
    /** Target fd -> the parked fd that becomes it in the child. */
    private final Map<Integer, Integer> parkedByTarget = new TreeMap<>();
    private final List<Memory> memory = new ArrayList<>();
    private Memory path;
    private Memory fileActions;
    private Memory attr;
    private StringArray argv;
    private StringArray envp;
    private Memory pidOut;
    private boolean actionsInitialised;
    private boolean attrInitialised;

    private HelperProcess(String program) {
        this.program = program;
    }

    /**
     * Prepares posix_spawn(program, argv, env) with the child's fds given as target fd ->
     * source fd of this JVM (0, 1, 2 included; a target not in the map is not inherited
     * unless the JVM's own fd of that number is inheritable, which 0, 1 and 2 are).
     */
    static HelperProcess prepare(Path program, List<String> argv, List<String> env, Map<Integer, Integer> fds) {
        LibC libc = LibC.INSTANCE;
        HelperProcess p = new HelperProcess(program.toString());
        try {
            p.path = p.allocate(program.toString().getBytes().length + 1L);
            p.path.setString(0, program.toString());
            p.argv = new StringArray(argv.toArray(String[]::new));
            p.envp = new StringArray(env.toArray(String[]::new));
            p.pidOut = p.allocate(4);

            p.fileActions = p.allocate(LibC.SPAWN_STRUCT_SIZE);
            check(libc.posix_spawn_file_actions_init(p.fileActions), "posix_spawn_file_actions_init", p.program);
            p.actionsInitialised = true;
            for (var e : new TreeMap<>(fds).entrySet()) {
                int parkedFd;
                try {
                    parkedFd = libc.fcntl(e.getValue(), LibC.F_DUPFD_CLOEXEC, PARKING_FD);
                } catch (LastErrorException x) {
                    throw LibC.failure("dup", "fd " + e.getValue() + " for " + p.program, x);
                }
                p.parked.add(parkedFd);
                p.parkedByTarget.put(e.getKey(), parkedFd);
                check(libc.posix_spawn_file_actions_adddup2(p.fileActions, parkedFd, e.getKey()),
                        "posix_spawn_file_actions_adddup2", "fd " + e.getKey());
            }

            // The child starts with no signal blocked and every handler at its default: the
            // JVM blocks and handles signals that a tenant's processes must see normally.
            Memory empty = p.allocate(LibC.SIGSET_SIZE);
            Memory all = p.allocate(LibC.SIGSET_SIZE);
            libc.sigemptyset(empty);
            libc.sigfillset(all);
            p.attr = p.allocate(LibC.SPAWN_STRUCT_SIZE);
            check(libc.posix_spawnattr_init(p.attr), "posix_spawnattr_init", p.program);
            p.attrInitialised = true;
            check(libc.posix_spawnattr_setsigmask(p.attr, empty), "posix_spawnattr_setsigmask", p.program);
            check(libc.posix_spawnattr_setsigdefault(p.attr, all), "posix_spawnattr_setsigdefault", p.program);
            check(libc.posix_spawnattr_setflags(p.attr, (short) (LibC.POSIX_SPAWN_SETSIGMASK | LibC.POSIX_SPAWN_SETSIGDEF)),
                    "posix_spawnattr_setflags", p.program);
            return p;
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
    }

    /**
     * A pipe already holding bytes, its write end closed: the read end gives them, then EOF.
     * This is how the helper receives its seccomp program (at most a few KiB, far below the
     * pipe's capacity, so the write never blocks).
     */
    static int pipeHolding(byte[] bytes, String what) {
        LibC libc = LibC.INSTANCE;
        int[] fds = new int[2];
        try {
            libc.pipe2(fds, LibC.O_CLOEXEC);
        } catch (LastErrorException e) {
            throw LibC.failure("pipe2", what, e);
        }
        try {
            int off = 0;
            while (off < bytes.length) {
                byte[] rest = off == 0 ? bytes : java.util.Arrays.copyOfRange(bytes, off, bytes.length);
                try {
                    off += (int) libc.write(fds[1], rest, rest.length);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() != LibC.EINTR) throw LibC.failure("write", what, e);
                }
            }
            return fds[0];
        } catch (RuntimeException e) {
            LibC.closeQuietly(fds[0]);
            throw e;
        } finally {
            LibC.closeQuietly(fds[1]);
        }
    }

    /**
     * Makes target in the child a duplicate of fd instead of the source given to prepare():
     * for an fd that can only be opened on the setup thread (the tenant's root, visible only
     * in the thread's new mount namespace). Call before the pid namespace is unshared.
     */
    void replace(int target, int fd) {
        Integer parkedFd = parkedByTarget.get(target);
        if (parkedFd == null) throw new IllegalStateException("fd " + target + " is not in the layout of " + program);
        try {
            LibC.INSTANCE.dup3(fd, parkedFd, LibC.O_CLOEXEC);
        } catch (LastErrorException e) {
            throw LibC.failure("dup3", "fd " + target + " for " + program, e);
        }
    }

    /** posix_spawn(); returns the child's pid as this thread's pid namespace sees it. */
    int spawn() {
        int err = LibC.INSTANCE.posix_spawn(pidOut, path, fileActions, attr, argv, envp);
        check(err, "posix_spawn", program);
        return pidOut.getInt(0);
    }

    /** Frees the prepared structures and closes the duplicated fds (the child has its own). */
    @Override
    public void close() {
        LibC libc = LibC.INSTANCE;
        if (actionsInitialised) libc.posix_spawn_file_actions_destroy(fileActions);
        if (attrInitialised) libc.posix_spawnattr_destroy(attr);
        actionsInitialised = attrInitialised = false;
        parked.forEach(LibC::closeQuietly);
        parked.clear();
        memory.forEach(Memory::close);
        memory.clear();
        if (argv != null) argv.close();
        if (envp != null) envp.close();
        argv = envp = null;
    }

    private Memory allocate(long size) {
        Memory m = new Memory(size);
        m.clear();
        memory.add(m);
        return m;
    }

    private static void check(int err, String step, String detail) {
        if (err != 0) throw new JailException(step, detail + ": " + LibC.INSTANCE.strerror(err));
    }

    @Override
    public String toString() {
        return "HelperProcess[" + program + "]";
    }
}
