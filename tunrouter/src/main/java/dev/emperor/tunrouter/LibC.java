package dev.emperor.tunrouter;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * The C library calls for devices, namespaces and epoll set-up (x86_64 Linux, glibc). Every
 * call throws {@link LastErrorException} on failure. The packet path does not use this
 * interface: it uses the direct-mapped {@link PacketIo}, which throws nothing and allocates
 * nothing. Constants are the kernel's values for x86_64.
 */
interface LibC extends Library {
    LibC INSTANCE = Native.load("c", LibC.class);

    /**
     * Keeps JNA's cleaner thread alive for the life of the JVM. JNA starts that thread lazily
     * from whichever thread first allocates native memory; were that a {@link NetnsThread}, the
     * cleaner would be born inside a tenant's network namespace. Loading this interface on an
     * ordinary thread starts it here instead, and a live registration stops it from exiting.
     */
    Memory KEEP_JNA_CLEANER_RUNNING = new Memory(1);

    int CLONE_NEWNET = 0x40000000;

    int O_RDONLY = 0;
    int O_RDWR = 2;
    int O_NONBLOCK = 04000;
    int O_CLOEXEC = 02000000;

    // tun (linux/if_tun.h): TUNSETIFF = _IOW('T', 202, int)
    long TUNSETIFF = 0x400454caL;
    // TUNSETPERSIST = _IOW('T', 203, int)
    long TUNSETPERSIST = 0x400454cbL;
    short IFF_TUN = 0x0001;
    short IFF_NO_PI = 0x1000;
    short IFF_VNET_HDR = 0x4000;
    // TUNSETOFFLOAD = _IOW('T', 208, unsigned int), argument by value
    long TUNSETOFFLOAD = 0x400454d0L;
    // TUNSETVNETHDRSZ = _IOW('T', 216, int), argument by pointer
    long TUNSETVNETHDRSZ = 0x400454d8L;
    int TUN_F_CSUM = 0x01;
    int TUN_F_TSO4 = 0x02;
    int TUN_F_TSO6 = 0x04;
    int TUN_F_TSO_ECN = 0x08;

    // interfaces (linux/sockios.h, net/if.h); struct ifreq is 40 bytes, its union at 16
    int AF_INET = 2;
    int SOCK_DGRAM = 2;
    int SOCK_CLOEXEC = 02000000;
    long SIOCADDRT = 0x890b;
    long SIOCGIFFLAGS = 0x8913;
    long SIOCSIFFLAGS = 0x8914;
    long SIOCSIFADDR = 0x8916;
    long SIOCSIFNETMASK = 0x891c;
    long SIOCSIFMTU = 0x8922;
    long SIOCSIFTXQLEN = 0x8943;
    int IFNAMSIZ = 16;
    int IFREQ_SIZE = 40;
    int IFREQ_UNION_OFFSET = 16;
    short IFF_UP = 1;

    // struct rtentry (net/route.h), x86_64 layout
    int RTENTRY_SIZE = 120;
    int RTENTRY_DST_OFFSET = 8;
    int RTENTRY_GATEWAY_OFFSET = 24;
    int RTENTRY_GENMASK_OFFSET = 40;
    int RTENTRY_FLAGS_OFFSET = 56;
    int RTENTRY_DEV_OFFSET = 88;
    short RTF_UP = 0x1;
    short RTF_GATEWAY = 0x2;

    // epoll and eventfd
    int EPOLL_CLOEXEC = 02000000;
    int EPOLL_CTL_ADD = 1;
    int EPOLL_CTL_DEL = 2;
    int EPOLL_CTL_MOD = 3;
    int EPOLLIN = 0x1;
    int EPOLLOUT = 0x4;
    int EPOLLERR = 0x8;
    int EPOLLHUP = 0x10;
    /** struct epoll_event is packed on x86_64: u32 events, u64 data. */
    int EPOLL_EVENT_SIZE = 12;
    int EFD_CLOEXEC = 02000000;
    int EFD_NONBLOCK = 04000;

    int EINTR = 4;
    int EAGAIN = 11;
    int ENOENT = 2;

    int open(String path, int flags, int mode) throws LastErrorException;

    int close(int fd) throws LastErrorException;

    int setns(int fd, int nstype) throws LastErrorException;

    int socket(int domain, int type, int protocol) throws LastErrorException;

    int ioctl(int fd, long request, Pointer arg) throws LastErrorException;

    /** For ioctls whose argument is a plain integer (TUNSETPERSIST, TUNSETOFFLOAD). */
    int ioctl(int fd, long request, long arg) throws LastErrorException;

    int epoll_create1(int flags) throws LastErrorException;

    int epoll_ctl(int epfd, int op, int fd, Pointer event) throws LastErrorException;

    int eventfd(int initval, int flags) throws LastErrorException;

    String strerror(int errnum);

    /** "what: strerror(errno)", for exception messages that name the step that failed. */
    static String describe(String what, LastErrorException e) {
        return what + ": " + INSTANCE.strerror(e.getErrorCode());
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
