package dev.emperor.jail;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * The C library calls the jail needs (x86_64 Linux, glibc). Every call that sets errno
 * throws {@link LastErrorException}; {@link #failure} turns that into a {@link JailException}
 * naming the step and the path. Constants are the kernel's values for x86_64.
 *
 * <p>Calls without a glibc wrapper go through {@code syscall(2)}; their arguments are passed as
 * {@code long} so that no register holds stale upper bits.
 */
interface LibC extends Library {
    LibC INSTANCE = Native.load("c", LibC.class);

    /**
     * Keeps JNA's cleaner thread alive for the life of the JVM. JNA starts that thread lazily
     * from whichever thread first allocates native memory; if that were a spawn thread it would
     * be born inside a tenant's namespaces (or fail: a thread that unshared CLONE_NEWPID cannot
     * create threads). Loading this interface on an ordinary thread starts it here instead, and
     * a live registration stops it from ever shutting down.
     */
    Memory KEEP_JNA_CLEANER_RUNNING = new Memory(1);

    // namespaces (sched.h)
    int CLONE_FS = 0x00000200;
    int CLONE_NEWNS = 0x00020000;
    int CLONE_NEWCGROUP = 0x02000000;
    int CLONE_NEWUTS = 0x04000000;
    int CLONE_NEWIPC = 0x08000000;
    int CLONE_NEWPID = 0x20000000;
    int CLONE_NEWNET = 0x40000000;

    // mount flags (sys/mount.h)
    long MS_RDONLY = 1;
    long MS_NOSUID = 2;
    long MS_NODEV = 4;
    long MS_NOEXEC = 8;
    long MS_REMOUNT = 32;
    long MS_BIND = 4096;
    long MS_REC = 16384;
    long MS_PRIVATE = 1 << 18;

    // open flags (fcntl.h)
    int O_RDONLY = 0;
    int O_WRONLY = 1;
    int O_RDWR = 2;
    int O_NOCTTY = 0400;
    int O_CREAT = 0100;
    int O_EXCL = 0200;
    int O_NONBLOCK = 04000;
    int O_DIRECTORY = 0200000;
    int O_NOFOLLOW = 0400000;
    int O_CLOEXEC = 02000000;
    int O_PATH = 010000000;
    int AT_FDCWD = -100;
    int F_DUPFD_CLOEXEC = 1030;

    // openat2 resolve flags (linux/openat2.h)
    long RESOLVE_NO_MAGICLINKS = 0x02;
    long RESOLVE_IN_ROOT = 0x10;

    // syscall numbers without a glibc wrapper (x86_64)
    long SYS_PIDFD_SEND_SIGNAL = 424;
    long SYS_PIDFD_OPEN = 434;
    long SYS_PIDFD_GETFD = 438;
    long SYS_OPENAT2 = 437;

    // waitid (sys/wait.h) and siginfo_t codes
    int P_PID = 1;
    int P_PIDFD = 3;
    int WNOHANG = 1;
    int WEXITED = 4;
    int CLD_EXITED = 1;
    int CLD_KILLED = 2;
    int CLD_DUMPED = 3;
    int SIGINFO_SIZE = 128;
    int SIGINFO_CODE_OFFSET = 8;
    int SIGINFO_PID_OFFSET = 16;
    int SIGINFO_STATUS_OFFSET = 24;

    // epoll, poll, eventfd
    int EPOLL_CLOEXEC = 02000000;
    int EPOLL_CTL_ADD = 1;
    int EPOLL_CTL_DEL = 2;
    int EPOLLIN = 1;
    /** struct epoll_event is packed on x86_64: u32 events, u64 data. */
    int EPOLL_EVENT_SIZE = 12;
    short POLLIN = 1;
    int EFD_CLOEXEC = 02000000;

    // posix_spawn (spawn.h)
    short POSIX_SPAWN_SETSIGDEF = 0x04;
    short POSIX_SPAWN_SETSIGMASK = 0x08;
    /** posix_spawn_file_actions_t and posix_spawnattr_t are opaque; glibc's are under 400 bytes. */
    int SPAWN_STRUCT_SIZE = 512;
    int SIGSET_SIZE = 128;

    // network interface flags (net/if.h, linux/sockios.h)
    int AF_INET = 2;
    int SOCK_DGRAM = 2;
    int SOCK_CLOEXEC = 02000000;
    long SIOCGIFFLAGS = 0x8913;
    long SIOCSIFFLAGS = 0x8914;
    int IFREQ_SIZE = 40;
    int IFREQ_FLAGS_OFFSET = 16;
    short IFF_UP = 1;

    // pseudo-terminals (asm-generic/ioctls.h, linux/magic.h)
    long TIOCSWINSZ = 0x5414;
    long TIOCSPTLCK = 0x40045431L;
    long TIOCGPTPEER = 0x5441;
    long DEVPTS_SUPER_MAGIC = 0x1cd1;
    /** struct stat (x86_64): st_mode and st_rdev offsets, and its size. */
    int STAT_SIZE = 144;
    int STAT_MODE_OFFSET = 24;
    int STAT_RDEV_OFFSET = 40;
    int S_IFMT = 0170000;
    int S_IFCHR = 0020000;

    // errno values the jail reacts to
    int ENOENT = 2;
    int ESRCH = 3;
    int EINTR = 4;
    int ECHILD = 10;
    int EEXIST = 17;

    int SIGKILL = 9;

    int unshare(int flags) throws LastErrorException;

    int setns(int fd, int nstype) throws LastErrorException;

    int mount(String source, String target, String fstype, long flags, String data) throws LastErrorException;

    int umount2(String target, int flags) throws LastErrorException;

    int sethostname(byte[] name, long len) throws LastErrorException;

    int open(String path, int flags, int mode) throws LastErrorException;

    int openat(int dirfd, String path, int flags, int mode) throws LastErrorException;

    int dup3(int oldfd, int newfd, int flags) throws LastErrorException;

    int mkdirat(int dirfd, String path, int mode) throws LastErrorException;

    int symlinkat(String target, int dirfd, String linkpath) throws LastErrorException;

    int close(int fd) throws LastErrorException;

    int pipe2(int[] fds, int flags) throws LastErrorException;

    long read(int fd, byte[] buf, long count) throws LastErrorException;

    long write(int fd, byte[] buf, long count) throws LastErrorException;

    int fcntl(int fd, int cmd, int arg) throws LastErrorException;

    int poll(Pointer fds, long nfds, int timeoutMillis) throws LastErrorException;

    int kill(int pid, int sig) throws LastErrorException;

    int waitid(int idtype, int id, Pointer infop, int options) throws LastErrorException;

    int epoll_create1(int flags) throws LastErrorException;

    int epoll_ctl(int epfd, int op, int fd, Pointer event) throws LastErrorException;

    int epoll_wait(int epfd, Pointer events, int maxevents, int timeoutMillis) throws LastErrorException;

    int eventfd(int initval, int flags) throws LastErrorException;

    int socket(int domain, int type, int protocol) throws LastErrorException;

    int ioctl(int fd, long request, Pointer arg) throws LastErrorException;

    /** ioctl with an integer argument (TIOCSPTLCK takes a pointer, TIOCGPTPEER an int). */
    int ioctl(int fd, long request, long arg) throws LastErrorException;

    int fchown(int fd, int uid, int gid) throws LastErrorException;

    int fchmod(int fd, int mode) throws LastErrorException;

    int fstat(int fd, Pointer stat) throws LastErrorException;

    /** struct statfs: f_type is the first field (a long). */
    int fstatfs(int fd, Pointer statfs) throws LastErrorException;

    /** statfs(2) by path; x86_64 struct statfs is 15 longs (TenantVolume reads blocks and inodes). */
    int statfs(String path, Pointer statfs) throws LastErrorException;

    /** pidfd_open(pid, flags). */
    long syscall(long number, long a, long b) throws LastErrorException;

    /** pidfd_send_signal(pidfd, sig, info, flags). */
    long syscall(long number, long a, long b, Pointer c, long d) throws LastErrorException;

    /** openat2(dirfd, path, how, size). */
    long syscall(long number, long a, String b, Pointer c, long d) throws LastErrorException;

    // posix_spawn reports errors as its return value, not through errno
    int posix_spawn(Pointer pid, Pointer path, Pointer fileActions, Pointer attr, Pointer argv, Pointer envp);

    int posix_spawn_file_actions_init(Pointer fileActions);

    int posix_spawn_file_actions_adddup2(Pointer fileActions, int fd, int newfd);

    int posix_spawn_file_actions_addclose(Pointer fileActions, int fd);

    int posix_spawn_file_actions_destroy(Pointer fileActions);

    int posix_spawnattr_init(Pointer attr);

    int posix_spawnattr_setflags(Pointer attr, short flags);

    int posix_spawnattr_setsigmask(Pointer attr, Pointer sigmask);

    int posix_spawnattr_setsigdefault(Pointer attr, Pointer sigdefault);

    int posix_spawnattr_destroy(Pointer attr);

    int sigemptyset(Pointer set);

    int sigfillset(Pointer set);

    String strerror(int errnum);

    /** A failed call as a {@link JailException}: "STEP: DETAIL: strerror(errno)". */
    static JailException failure(String step, String detail, LastErrorException e) {
        return new JailException(step, detail + ": " + INSTANCE.strerror(e.getErrorCode()), e);
    }

    /** Closes fd, ignoring errors: for clean-up paths where the first failure is what counts. */
    static void closeQuietly(int fd) {
        if (fd < 0) return;
        try {
            INSTANCE.close(fd);
        } catch (LastErrorException ignored) {
            // already closed or never valid: nothing left to release
        }
    }
}
