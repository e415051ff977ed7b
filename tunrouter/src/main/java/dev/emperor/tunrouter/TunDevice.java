package dev.emperor.tunrouter;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A tun device (layer 3, no packet-information header) and its non-blocking file descriptor.
 *
 * <p>Every device is opened for speed: {@code IFF_VNET_HDR} with a {@value #VIRTIO_NET_HEADER_BYTES}-byte
 * {@code virtio_net_hdr} before each packet, and {@code TUNSETOFFLOAD} with checksum offload,
 * TSO (IPv4, IPv6, ECN). The kernel then hands over TCP super-packets of up to 64 KiB with their
 * checksum left to finish, and a reader that writes such a packet, header unchanged, to another
 * tun opened the same way lets that tun's kernel side finish and segment it (see
 * {@link VirtioNetHeader}). Every {@link #create} sets the same flags, so re-opening a persistent
 * device gives the same device as its creation did.
 *
 * <p>The device is created in the network namespace of the thread that calls {@link #create},
 * and {@link #configure} and {@link #addDefaultRoute} act on the namespace of the thread that
 * calls them (they use a short-lived {@code AF_INET} socket, and a socket belongs to the
 * namespace of the thread that creates it). To make a tenant's {@code tun0}, call all three from
 * a {@link NetnsThread}. The descriptor itself keeps working from any thread afterwards.
 *
 * <p>The device is not persistent unless {@link #makePersistent} is called: {@link #close} then
 * removes it from the kernel. A persistent device outlives its descriptor (it dies with its
 * network namespace), and {@link #create} with its name attaches a new descriptor to it.
 */
public final class TunDevice implements AutoCloseable {
    /** Bytes of {@code virtio_net_hdr} before every packet read from or written to {@link #fd()}. */
    public static final int VIRTIO_NET_HEADER_BYTES = VirtioNetHeader.LENGTH;
    /** What the kernel may leave to the other side: checksums and TCP segmentation. No UDP offloads: the router checks only TCP super-packets. */
    private static final int OFFLOADS = LibC.TUN_F_CSUM | LibC.TUN_F_TSO4 | LibC.TUN_F_TSO6 | LibC.TUN_F_TSO_ECN;
    private final String name;
    private int fd;

    private TunDevice(String name, int fd) {
        this.name = name;
        this.fd = fd;
    }

    /**
     * Creates tun device {@code name} (at most 15 bytes) in the calling thread's network
     * namespace, or attaches to it if a persistent tun of that name exists there and no other
     * descriptor holds it (its address and routes are kept).
     */
    public static TunDevice create(String name) {
        Objects.requireNonNull(name, "name");
        byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
        if (bytes.length == 0 || bytes.length >= LibC.IFNAMSIZ || name.contains("/") || name.contains(" ")) {
            throw new IllegalArgumentException("interface name '" + name + "' must be 1 to 15 characters, without '/' or spaces");
        }
        LibC libc = LibC.INSTANCE;
        int fd;
        try {
            fd = libc.open("/dev/net/tun", LibC.O_RDWR | LibC.O_CLOEXEC | LibC.O_NONBLOCK, 0);
        } catch (LastErrorException e) {
            throw new NetworkSetupException(LibC.describe("open /dev/net/tun for " + name, e), e);
        }
        try (Memory ifreq = ifreq(name)) {
            // On an existing persistent device this attaches and sets these flags anew.
            ifreq.setShort(LibC.IFREQ_UNION_OFFSET, (short) (LibC.IFF_TUN | LibC.IFF_NO_PI | LibC.IFF_VNET_HDR));
            libc.ioctl(fd, LibC.TUNSETIFF, ifreq);
        } catch (LastErrorException e) {
            LibC.closeQuietly(fd);
            throw new NetworkSetupException(LibC.describe("TUNSETIFF " + name, e), e);
        }
        // The header size and offloads belong to the device, not the descriptor: set them on
        // every open, so a device made by an older emperor is brought to the same state.
        try (Memory size = new Memory(4)) {
            size.setInt(0, VIRTIO_NET_HEADER_BYTES);
            libc.ioctl(fd, LibC.TUNSETVNETHDRSZ, size);
        } catch (LastErrorException e) {
            LibC.closeQuietly(fd);
            throw new NetworkSetupException(LibC.describe("TUNSETVNETHDRSZ " + name + " " + VIRTIO_NET_HEADER_BYTES, e), e);
        }
        try {
            libc.ioctl(fd, LibC.TUNSETOFFLOAD, (long) OFFLOADS);
        } catch (LastErrorException e) {
            LibC.closeQuietly(fd);
            throw new NetworkSetupException(LibC.describe("TUNSETOFFLOAD " + name, e), e);
        }
        return new TunDevice(name, fd);
    }

    /**
     * Makes the device persistent (TUNSETPERSIST): it stays when this descriptor is closed, e.g.
     * when the process holding it dies, until its network namespace goes away.
     */
    public void makePersistent() {
        try {
            LibC.INSTANCE.ioctl(fd(), LibC.TUNSETPERSIST, 1L);
        } catch (LastErrorException e) {
            throw new NetworkSetupException(LibC.describe("TUNSETPERSIST " + name, e), e);
        }
    }

    public String name() {
        return name;
    }

    /**
     * The non-blocking descriptor: each read() gives one {@code virtio_net_hdr} and one IPv4/IPv6
     * datagram (a TCP one up to 64 KiB), each write() takes one.
     */
    public int fd() {
        if (fd < 0) {
            throw new IllegalStateException("tun device " + name + " is closed");
        }
        return fd;
    }

    /**
     * Gives the device its address and prefix, MTU and transmit queue length, then brings it up,
     * in the calling thread's network namespace. The kernel adds the route to the prefix itself.
     */
    public void configure(int address, int prefixLength, int mtu, int txQueueLength) {
        if (prefixLength < 0 || prefixLength > 32) {
            throw new IllegalArgumentException("prefix length " + prefixLength + " is not 0 to 32");
        }
        int netmask = prefixLength == 0 ? 0 : -1 << (32 - prefixLength);
        withSocket("configure", (libc, sock) -> {
            try (Memory ifreq = ifreq(name)) {
                ifreq.setInt(LibC.IFREQ_UNION_OFFSET, mtu);
                ioctl(libc, sock, LibC.SIOCSIFMTU, ifreq, "SIOCSIFMTU " + name + " " + mtu);

                clearUnion(ifreq);
                ifreq.setInt(LibC.IFREQ_UNION_OFFSET, txQueueLength);
                ioctl(libc, sock, LibC.SIOCSIFTXQLEN, ifreq, "SIOCSIFTXQLEN " + name + " " + txQueueLength);

                clearUnion(ifreq);
                putSockaddr(ifreq, LibC.IFREQ_UNION_OFFSET, address);
                ioctl(libc, sock, LibC.SIOCSIFADDR, ifreq, "SIOCSIFADDR " + name + " " + Cidr.format(address));

                clearUnion(ifreq);
                putSockaddr(ifreq, LibC.IFREQ_UNION_OFFSET, netmask);
                ioctl(libc, sock, LibC.SIOCSIFNETMASK, ifreq, "SIOCSIFNETMASK " + name + " /" + prefixLength);

                clearUnion(ifreq);
                ioctl(libc, sock, LibC.SIOCGIFFLAGS, ifreq, "SIOCGIFFLAGS " + name);
                short flags = ifreq.getShort(LibC.IFREQ_UNION_OFFSET);
                ifreq.setShort(LibC.IFREQ_UNION_OFFSET, (short) (flags | LibC.IFF_UP));
                ioctl(libc, sock, LibC.SIOCSIFFLAGS, ifreq, "SIOCSIFFLAGS " + name + " up");
            }
        });
    }

    /** Adds {@code default via gateway dev NAME} in the calling thread's network namespace (after {@link #configure}). */
    public void addDefaultRoute(int gateway) {
        withSocket("default route", (libc, sock) -> {
            byte[] nameBytes = name.getBytes(StandardCharsets.US_ASCII);
            try (Memory rtentry = new Memory(LibC.RTENTRY_SIZE); Memory device = new Memory(nameBytes.length + 1)) {
                rtentry.clear();
                device.clear();
                device.write(0, nameBytes, 0, nameBytes.length);
                putSockaddr(rtentry, LibC.RTENTRY_DST_OFFSET, 0);
                putSockaddr(rtentry, LibC.RTENTRY_GATEWAY_OFFSET, gateway);
                putSockaddr(rtentry, LibC.RTENTRY_GENMASK_OFFSET, 0);
                rtentry.setShort(LibC.RTENTRY_FLAGS_OFFSET, (short) (LibC.RTF_UP | LibC.RTF_GATEWAY));
                rtentry.setPointer(LibC.RTENTRY_DEV_OFFSET, device);
                ioctl(libc, sock, LibC.SIOCADDRT, rtentry, "SIOCADDRT default via " + Cidr.format(gateway) + " dev " + name);
            }
        });
    }

    /** Closes the descriptor, which removes the device unless it is persistent. Idempotent. */
    @Override
    public synchronized void close() {
        int toClose = fd;
        fd = -1;
        LibC.closeQuietly(toClose);
    }

    @Override
    public String toString() {
        return "tun " + name + (fd < 0 ? " (closed)" : " fd " + fd);
    }

    private interface SocketStep {
        void run(LibC libc, int sock);
    }

    private void withSocket(String step, SocketStep body) {
        LibC libc = LibC.INSTANCE;
        int sock;
        try {
            sock = libc.socket(LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw new NetworkSetupException(LibC.describe("socket for " + step + " of " + name, e), e);
        }
        try {
            body.run(libc, sock);
        } finally {
            LibC.closeQuietly(sock);
        }
    }

    private static void ioctl(LibC libc, int sock, long request, Memory arg, String step) {
        try {
            libc.ioctl(sock, request, arg);
        } catch (LastErrorException e) {
            throw new NetworkSetupException(LibC.describe(step, e), e);
        }
    }

    private static Memory ifreq(String name) {
        Memory ifreq = new Memory(LibC.IFREQ_SIZE);
        ifreq.clear();
        byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
        ifreq.write(0, bytes, 0, bytes.length);
        return ifreq;
    }

    private static void clearUnion(Memory ifreq) {
        ifreq.setMemory(LibC.IFREQ_UNION_OFFSET, LibC.IFREQ_SIZE - LibC.IFREQ_UNION_OFFSET, (byte) 0);
    }

    /** struct sockaddr_in: family (native order), port 0, address (network order), zero padding. */
    private static void putSockaddr(Memory memory, int offset, int address) {
        memory.setMemory(offset, 16, (byte) 0);
        memory.setShort(offset, (short) LibC.AF_INET);
        memory.setByte(offset + 4, (byte) (address >>> 24));
        memory.setByte(offset + 5, (byte) (address >>> 16));
        memory.setByte(offset + 6, (byte) (address >>> 8));
        memory.setByte(offset + 7, (byte) address);
    }
}
