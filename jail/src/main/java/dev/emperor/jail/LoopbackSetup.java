package dev.emperor.jail;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;

/**
 * Brings up {@code lo} in the calling thread's network namespace. A new network namespace
 * has only a loopback device, and it starts down: without this, a tenant's own services
 * could not even talk to each other over 127.0.0.1.
 */
final class LoopbackSetup {
    private LoopbackSetup() {}

    static void bringUp(String tenant) {
        LibC libc = LibC.INSTANCE;
        int sock;
        try {
            // Sockets belong to the network namespace of the thread that creates them.
            sock = libc.socket(LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw LibC.failure("socket", "loopback set-up for tenant " + tenant, e);
        }
        try (Memory ifreq = new Memory(LibC.IFREQ_SIZE)) {
            ifreq.clear();
            ifreq.setString(0, "lo");
            libc.ioctl(sock, LibC.SIOCGIFFLAGS, ifreq);
            short flags = ifreq.getShort(LibC.IFREQ_FLAGS_OFFSET);
            ifreq.setShort(LibC.IFREQ_FLAGS_OFFSET, (short) (flags | LibC.IFF_UP));
            libc.ioctl(sock, LibC.SIOCSIFFLAGS, ifreq);
        } catch (LastErrorException e) {
            throw LibC.failure("ioctl", "bring up lo for tenant " + tenant, e);
        } finally {
            LibC.closeQuietly(sock);
        }
    }
}
