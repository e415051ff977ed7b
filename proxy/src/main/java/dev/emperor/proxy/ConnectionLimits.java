package dev.emperor.proxy;

import com.sun.management.UnixOperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;

/**
 * How many client connections the proxy holds open: HTTP, HTTPS and public ports together.
 * A client is one IPv4 address or one IPv6 /64 ({@link ClientKey}).
 *
 * @param perClient        from one client, to all sites and public ports together; more are
 *                         closed at accept
 * @param perClientPerSite from one client to one site (a tenant's web site, or one public
 *                         port), and never more than half the site's own connection limit, so one
 *                         client can never fill a site alone; more get 429 (public port: closed)
 * @param total            in all; below the process's open-file limit, since a proxied
 *                         connection holds two descriptors ({@link #totalFor})
 */
public record ConnectionLimits(int perClient, int perClientPerSite, int total) {

    /**
     * Descriptors kept for the emperor's own work whatever the limit: the JVM (jars, epoll and
     * event fds: ~100), up to 512 shell sessions (socket, pty and pipes: ~3 each), and per
     * tenant its log files, tun device, public-port listeners and the pipes of spawns (~10),
     * i.e. a few hundred tenants. Above this, one eighth of the limit is kept, so hosts that
     * raise the limit for thousands of tenants keep room in proportion.
     */
    public static final int RESERVED_FDS = 4096;
    /**
     * Descriptors kept per tenant on top of {@link #RESERVED_FDS}: its log file and pipe ends,
     * tun device, pidfd, public-port listeners, the pipes and files of a spawn or entered
     * command, its state (~16). So the proxy's total shrinks as tenants are added, and a full
     * proxy never takes the descriptors a spawn, the watcher or the state database needs.
     */
    public static final int FDS_PER_TENANT = 16;
    public static final int DEFAULT_PER_CLIENT = 256;
    public static final int DEFAULT_PER_CLIENT_PER_SITE = 64;

    public ConnectionLimits {
        if (perClient < 1 || perClientPerSite < 1 || total < 1) {
            throw new IllegalArgumentException("connection limits must be at least 1: per client " + perClient
                    + ", per client and site " + perClientPerSite + ", total " + total);
        }
    }

    /** 256 per client, 64 per client and site, the total this process's open-file limit allows. */
    public static ConnectionLimits defaults() {
        return new ConnectionLimits(DEFAULT_PER_CLIENT, DEFAULT_PER_CLIENT_PER_SITE, totalFor(openFileLimit()));
    }

    /**
     * The most client connections {@code fdLimit} descriptors carry: two per connection (the
     * client's and the app's) after {@link #RESERVED_FDS} or an eighth of the limit, whichever
     * is more; at least 64, so a tiny limit still serves something (and fails loudly in the log).
     */
    public static int totalFor(long fdLimit) {
        return totalFor(fdLimit, 0);
    }

    /**
     * As {@link #totalFor(long)} with {@code tenants} tenants: {@link #FDS_PER_TENANT} more kept
     * for each.
     */
    public static int totalFor(long fdLimit, int tenants) {
        long reserve = Math.max(RESERVED_FDS, fdLimit / 8) + (long) FDS_PER_TENANT * Math.max(0, tenants);
        return (int) Math.min(Integer.MAX_VALUE, Math.max(64, (fdLimit - reserve) / 2));
    }

    /**
     * The soft RLIMIT_NOFILE of this process (HotSpot raises it to the hard limit at start,
     * {@code -XX:+MaxFDLimit}, on by default on Linux); 1024 if the JVM cannot tell.
     */
    public static long openFileLimit() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        return os instanceof UnixOperatingSystemMXBean unix ? unix.getMaxFileDescriptorCount() : 1024;
    }

    /** The cap for one client on a site that takes {@code siteMax} connections in all. */
    public int perClientOn(int siteMax) {
        return Math.min(perClientPerSite, Math.max(1, siteMax / 2));
    }

    /** From this many open connections on, idle keep-alive connections are closed, oldest first. */
    public int shedAt() {
        return total - Math.max(1, total / 8);
    }

    /** How many to close in one go once {@link #shedAt} is reached: back to this below it. */
    int shedBatch() {
        return Math.max(1, total / 32);
    }

    public ConnectionLimits withTotal(int newTotal) {
        return new ConnectionLimits(perClient, perClientPerSite, newTotal);
    }
}
