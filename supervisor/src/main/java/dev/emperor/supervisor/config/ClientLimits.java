package dev.emperor.supervisor.config;

import dev.emperor.proxy.ConnectionLimits;
import dev.emperor.proxy.ProxyOptions;
import java.time.Duration;

/**
 * How long, how slowly and how many at once the front proxy lets clients go (emperor.ini's
 * {@code client-*}, {@code upstream-timeout}, {@code max-connections} and
 * {@code underscores-in-headers} keys). Applied on SIGHUP to connections accepted from then on.
 *
 * @param headerTimeout          {@code client-header-timeout}: a request head must be complete this soon after its first byte
 * @param idleTimeout            {@code client-idle-timeout}: a connection with no traffic either way is closed
 * @param minRate                {@code client-min-rate}: bytes per second a client must average while sending a
 *                               body or while it is behind in reading a response; 0 = no minimum
 * @param rateGrace              {@code client-rate-grace}: how long a transfer runs before the rate is judged
 * @param upstreamTimeout        {@code upstream-timeout}: from request sent to the app to its response head (504)
 * @param maxPerClient           {@code client-max-connections}: from one client address (IPv6: one /64), all sites
 *                               and public ports together
 * @param maxPerClientPerSite    {@code client-max-connections-per-site}: from one client address to one site or port
 * @param maxConnections         {@code max-connections}: client connections in all; 0 = what the open-file limit allows
 * @param underscoresInHeaders   {@code underscores-in-headers}: request header names with '_' reach the app
 */
public record ClientLimits(
        Duration headerTimeout,
        Duration idleTimeout,
        long minRate,
        Duration rateGrace,
        Duration upstreamTimeout,
        int maxPerClient,
        int maxPerClientPerSite,
        int maxConnections,
        boolean underscoresInHeaders) {

    /** The timeouts and rate given, the connection limits and header rule at their defaults. */
    public ClientLimits(Duration headerTimeout, Duration idleTimeout, long minRate, Duration rateGrace,
                        Duration upstreamTimeout) {
        this(headerTimeout, idleTimeout, minRate, rateGrace, upstreamTimeout, ConnectionLimits.DEFAULT_PER_CLIENT,
                ConnectionLimits.DEFAULT_PER_CLIENT_PER_SITE, 0, false);
    }

    /** The proxy's own defaults: 20 s, 75 s, 240 B/s after 5 s, 60 s; 256, 64, from the fd limit; no '_'. */
    public static ClientLimits defaults() {
        ProxyOptions d = ProxyOptions.defaults();
        return new ClientLimits(d.headerReadTimeout(), d.idleTimeout(), d.minDataRate(), d.rateGrace(),
                d.upstreamResponseTimeout());
    }

    /**
     * Why {@code max-connections} cannot be carried by {@code fdLimit} descriptors at all (with no
     * tenant yet), or empty: set above that, accepts and spawns would fail with EMFILE long before
     * the cap, so the emperor refuses the file instead of quietly lowering it.
     */
    public java.util.Optional<String> fdLimitProblem(long fdLimit) {
        int carried = ConnectionLimits.totalFor(fdLimit);
        if (maxConnections <= carried) return java.util.Optional.empty();
        return java.util.Optional.of("max-connections = " + maxConnections + " is more than the open-file limit "
                + fdLimit + " carries: at most " + carried + " (two descriptors per connection after max("
                + ConnectionLimits.RESERVED_FDS + ", limit/8) + " + ConnectionLimits.FDS_PER_TENANT
                + " per tenant kept for spawns, logs, the watcher and the state database); lower it or raise LimitNOFILE");
    }

    /**
     * The connection limits for a process that may open {@code fdLimit} files: {@code
     * max-connections} if given and below what the limit carries ({@link ConnectionLimits#totalFor}),
     * else the latter (more would end in failed accepts and failed spawns, not more service).
     */
    public ConnectionLimits connectionLimits(long fdLimit) {
        return connectionLimits(fdLimit, 0);
    }

    /** As {@link #connectionLimits(long)}, keeping descriptors for {@code tenants} tenants too. */
    public ConnectionLimits connectionLimits(long fdLimit, int tenants) {
        int carried = ConnectionLimits.totalFor(fdLimit, tenants);
        int total = maxConnections == 0 ? carried : Math.min(maxConnections, carried);
        return new ConnectionLimits(maxPerClient, maxPerClientPerSite, total);
    }

    /** {@code options} with these limits, for a process that may open {@code fdLimit} files. */
    public ProxyOptions applyTo(ProxyOptions options, long fdLimit) {
        return applyTo(options, fdLimit, 0);
    }

    /** As {@link #applyTo(ProxyOptions, long)}, keeping descriptors for {@code tenants} tenants too. */
    public ProxyOptions applyTo(ProxyOptions options, long fdLimit, int tenants) {
        return options.withTimeouts(headerTimeout, idleTimeout, options.upstreamConnectTimeout(), upstreamTimeout)
                .withMinDataRate(minRate, rateGrace)
                .withConnectionLimits(connectionLimits(fdLimit, tenants))
                .withUnderscoresInHeaders(underscoresInHeaders);
    }

    /** {@code options} with these limits, for this process's open-file limit. */
    public ProxyOptions applyTo(ProxyOptions options) {
        return applyTo(options, ConnectionLimits.openFileLimit());
    }
}
