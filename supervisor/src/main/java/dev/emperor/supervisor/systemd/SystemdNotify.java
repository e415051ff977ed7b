package dev.emperor.supervisor.systemd;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import java.nio.charset.StandardCharsets;

/**
 * sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET, so a `Type=notify` unit
 * is "started" only once the emperor has adopted its survivors and opened its control
 * socket. Java cannot send unix datagrams itself, hence the three libc calls.
 */
public final class SystemdNotify {
    private static final int AF_UNIX = 1;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_CLOEXEC = 02000000;
    private static final int SUN_PATH_MAX = 108;

    private interface Libc extends Library {
        Libc INSTANCE = Native.load("c", Libc.class);

        int socket(int domain, int type, int protocol) throws LastErrorException;

        long sendto(int fd, byte[] buf, long len, int flags, Memory addr, int addrlen) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    private SystemdNotify() {}

    /** Tells systemd the service is ready; does nothing when not started by systemd. */
    public static void ready(String status) {
        send("READY=1\nSTATUS=" + status.replace('\n', ' '));
    }

    /** Tells systemd the service is stopping. */
    public static void stopping() {
        send("STOPPING=1");
    }

    private static void send(String message) {
        String socketPath = System.getenv("NOTIFY_SOCKET");
        if (socketPath == null || socketPath.isEmpty()) return;
        byte[] path = socketPath.getBytes(StandardCharsets.UTF_8);
        if (path.length >= SUN_PATH_MAX || (path[0] != '/' && path[0] != '@')) {
            throw new IllegalStateException("NOTIFY_SOCKET is not a usable unix socket path: " + socketPath);
        }
        if (path[0] == '@') path[0] = 0; // abstract namespace
        Memory address = new Memory(2 + SUN_PATH_MAX);
        address.clear();
        address.setShort(0, (short) AF_UNIX);
        address.write(2, path, 0, path.length);
        byte[] payload = message.getBytes(StandardCharsets.UTF_8);
        int fd = Libc.INSTANCE.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        try {
            Libc.INSTANCE.sendto(fd, payload, payload.length, 0, address, 2 + path.length);
        } finally {
            Libc.INSTANCE.close(fd);
        }
    }
}
