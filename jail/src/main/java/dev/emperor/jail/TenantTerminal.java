package dev.emperor.jail;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;

/**
 * A new pseudo-terminal made in a running tenant's own devpts instance (the jail mounts one
 * at /dev/pts with its own ptmx), for a login shell entered with {@link Jail#enter}.
 *
 * <p>The pair must be the tenant's, not the host's: inside the tenant only its own devpts is
 * visible, so a host pty would show up as a tty without a name there (no {@code tty}, no
 * {@code /dev/pts/N} for ssh-agent-like tools), and the host's pty numbers would leak.
 *
 * <p>Opened from the host without entering anything: {@code /proc/PID/root} of the tenant's
 * pid 1 is its root; "dev/pts/ptmx" is resolved beneath it with openat2(RESOLVE_IN_ROOT), and
 * the result must be a ptmx (char 5:2) on a devpts file system, so no symlink or file the
 * tenant made can stand in for it (its /dev is read-only anyway). The slave is reached with
 * TIOCGPTPEER, through the master itself: no path lookup, no race on the pty number.
 */
public final class TenantTerminal implements AutoCloseable {
    private static final int PTMX_MAJOR = 5;
    private static final int PTMX_MINOR = 2;
    /** rows and columns the kernel's struct winsize can hold, and a sane upper bound. */
    public static final int MAX_SIZE = 10_000;

    private int master;
    private int slave;

    private TenantTerminal(int master, int slave) {
        this.master = master;
        this.slave = slave;
    }

    /**
     * Opens a new pty pair in the devpts of the tenant whose pid 1 is init, with the slave
     * owned by uid:gid (mode 0620, as login does) and the given window size (0 = unknown).
     */
    static TenantTerminal open(TenantProcess init, int uid, int gid, int rows, int cols) {
        if (rows < 0 || cols < 0 || rows > MAX_SIZE || cols > MAX_SIZE) {
            throw new IllegalArgumentException("window size " + rows + "x" + cols + " out of range");
        }
        String tenant = init.tenant();
        String rootPath = "/proc/" + init.pid() + "/root";
        LibC libc = LibC.INSTANCE;
        int root = -1;
        int master = -1;
        int slave = -1;
        try {
            try {
                root = libc.open(rootPath, LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
            } catch (LastErrorException e) {
                throw LibC.failure("open pty", rootPath + " of tenant " + tenant, e);
            }
            // The root fd is pid 1's only if pid 1 is still the same process after the open.
            if (!init.isAlive() || ProcStat.startTimeOf(init.pid()).orElse(-1) != init.startTime()) {
                throw new JailException("open pty", "tenant " + tenant + " is not running");
            }
            try (Memory how = new Memory(24)) {
                how.setLong(0, LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC);
                how.setLong(8, 0);
                how.setLong(16, LibC.RESOLVE_IN_ROOT | LibC.RESOLVE_NO_MAGICLINKS);
                master = (int) libc.syscall(LibC.SYS_OPENAT2, root, "dev/pts/ptmx", how, 24);
            } catch (LastErrorException e) {
                throw LibC.failure("open pty", "/dev/pts/ptmx of tenant " + tenant, e);
            }
            requirePtmx(master, tenant);
            try (Memory unlock = new Memory(4)) {
                unlock.setInt(0, 0);
                libc.ioctl(master, LibC.TIOCSPTLCK, unlock);
                slave = libc.ioctl(master, LibC.TIOCGPTPEER, LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC);
                libc.fchown(slave, uid, gid);
                libc.fchmod(slave, 0620);
            } catch (LastErrorException e) {
                throw LibC.failure("open pty", "slave of a new pty of tenant " + tenant, e);
            }
            TenantTerminal terminal = new TenantTerminal(master, slave);
            if (rows > 0 && cols > 0) terminal.resize(rows, cols);
            return terminal;
        } catch (RuntimeException e) {
            LibC.closeQuietly(master);
            LibC.closeQuietly(slave);
            throw e;
        } finally {
            LibC.closeQuietly(root);
        }
    }

    private static void requirePtmx(int fd, String tenant) {
        try (Memory st = new Memory(LibC.STAT_SIZE); Memory fs = new Memory(128)) {
            LibC.INSTANCE.fstat(fd, st);
            LibC.INSTANCE.fstatfs(fd, fs);
            int mode = st.getInt(LibC.STAT_MODE_OFFSET);
            long rdev = st.getLong(LibC.STAT_RDEV_OFFSET);
            // glibc's dev_t encoding: major in bits 8-19 (and 32-43), minor in bits 0-7 (and 20-31).
            long major = ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL);
            long minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xffL);
            if (fs.getLong(0) != LibC.DEVPTS_SUPER_MAGIC || (mode & LibC.S_IFMT) != LibC.S_IFCHR
                    || major != PTMX_MAJOR || minor != PTMX_MINOR) {
                throw new JailException("open pty", "/dev/pts/ptmx of tenant " + tenant + " is not a devpts ptmx");
            }
        } catch (LastErrorException e) {
            throw LibC.failure("open pty", "stat /dev/pts/ptmx of tenant " + tenant, e);
        }
    }

    /** The master side (close-on-exec), still owned by this object. */
    public synchronized int master() {
        if (master < 0) throw new IllegalStateException("terminal is closed");
        return master;
    }

    /** The slave side (close-on-exec), for the entered process's fds 0-2; -1 once closed. */
    public synchronized int slave() {
        return slave;
    }

    /** Sets the window size; the kernel sends SIGWINCH to the terminal's foreground group. */
    public synchronized void resize(int rows, int cols) {
        if (rows <= 0 || cols <= 0 || rows > MAX_SIZE || cols > MAX_SIZE) {
            throw new IllegalArgumentException("window size " + rows + "x" + cols + " out of range");
        }
        try (Memory ws = new Memory(8)) {
            ws.clear();
            ws.setShort(0, (short) rows);
            ws.setShort(2, (short) cols);
            LibC.INSTANCE.ioctl(master(), LibC.TIOCSWINSZ, ws);
        } catch (LastErrorException e) {
            throw LibC.failure("resize pty", rows + "x" + cols, e);
        }
    }

    /** Closes the JVM's slave fd once the entered process has its own copies. */
    public synchronized void closeSlave() {
        LibC.closeQuietly(slave);
        slave = -1;
    }

    /** Closes both sides still held by the JVM. */
    @Override
    public synchronized void close() {
        closeSlave();
        LibC.closeQuietly(master);
        master = -1;
    }
}
