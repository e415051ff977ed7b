package dev.emperor.proxy;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

/**
 * Listen addresses and limits of the front proxy.
 *
 * @param httpListen             plain HTTP listeners (port 0 picks a free port, for tests)
 * @param maxHeaderBytes         largest request header block (431 beyond)
 * @param headerReadTimeout      a request head must arrive this soon after its first byte
 *                               (slowloris); the connection is closed otherwise
 * @param idleTimeout            a connection with no traffic either way is closed after this;
 *                               keep it longer than {@code upstreamResponseTimeout}
 * @param upstreamConnectTimeout connecting to a tenant's app (502 beyond)
 * @param upstreamResponseTimeout from request sent to response head received (504 beyond)
 * @param minDataRate            bytes per second a client must at least average while it sends a
 *                               request body or while the proxy holds response bytes it has not
 *                               taken, measured after {@code rateGrace}; 0 = no minimum
 * @param rateGrace              how long a transfer may run below {@code minDataRate} before it is judged
 * @param connections            client connections: per client address, per client and site, in all
 * @param underscoresInHeaders   request header names with '_' go on to the app (nginx's
 *                               {@code underscores_in_headers}); off: they are dropped
 */
public record ProxyOptions(
        List<InetSocketAddress> httpListen,
        int maxHeaderBytes,
        Duration headerReadTimeout,
        Duration idleTimeout,
        Duration upstreamConnectTimeout,
        Duration upstreamResponseTimeout,
        long minDataRate,
        Duration rateGrace,
        ConnectionLimits connections,
        boolean underscoresInHeaders) {

    public ProxyOptions {
        httpListen = List.copyOf(httpListen);
        java.util.Objects.requireNonNull(connections, "connections");
        if (maxHeaderBytes < 1024) {
            throw new IllegalArgumentException("maxHeaderBytes below 1024: " + maxHeaderBytes);
        }
        if (minDataRate < 0 || rateGrace.isNegative() || rateGrace.isZero()) {
            throw new IllegalArgumentException("bad minimum data rate " + minDataRate + " B/s after " + rateGrace);
        }
    }

    /**
     * Port 80 on all addresses, 16 KiB of headers, nginx-like timeouts, Kestrel's 240 B/s after
     * 5 s, {@link ConnectionLimits#defaults()}, no underscores in header names.
     */
    public static ProxyOptions defaults() {
        return new ProxyOptions(List.of(new InetSocketAddress(80)), 16 * 1024,
                Duration.ofSeconds(20), Duration.ofSeconds(75),
                Duration.ofSeconds(5), Duration.ofSeconds(60), 240, Duration.ofSeconds(5),
                ConnectionLimits.defaults(), false);
    }

    public ProxyOptions withHttpListen(List<InetSocketAddress> addresses) {
        return new ProxyOptions(addresses, maxHeaderBytes, headerReadTimeout, idleTimeout,
                upstreamConnectTimeout, upstreamResponseTimeout, minDataRate, rateGrace,
                connections, underscoresInHeaders);
    }

    public ProxyOptions withTimeouts(Duration headerRead, Duration idle, Duration connect, Duration response) {
        return new ProxyOptions(httpListen, maxHeaderBytes, headerRead, idle, connect, response, minDataRate, rateGrace,
                connections, underscoresInHeaders);
    }

    public ProxyOptions withMaxHeaderBytes(int bytes) {
        return new ProxyOptions(httpListen, bytes, headerReadTimeout, idleTimeout,
                upstreamConnectTimeout, upstreamResponseTimeout, minDataRate, rateGrace,
                connections, underscoresInHeaders);
    }

    /** Clients must average {@code bytesPerSecond} (0 = no minimum) once a transfer has run for {@code grace}. */
    public ProxyOptions withMinDataRate(long bytesPerSecond, Duration grace) {
        return new ProxyOptions(httpListen, maxHeaderBytes, headerReadTimeout, idleTimeout,
                upstreamConnectTimeout, upstreamResponseTimeout, bytesPerSecond, grace,
                connections, underscoresInHeaders);
    }

    public ProxyOptions withConnectionLimits(ConnectionLimits limits) {
        return new ProxyOptions(httpListen, maxHeaderBytes, headerReadTimeout, idleTimeout,
                upstreamConnectTimeout, upstreamResponseTimeout, minDataRate, rateGrace, limits, underscoresInHeaders);
    }

    /** Whether request header names with '_' reach the app (nginx's {@code underscores_in_headers}). */
    public ProxyOptions withUnderscoresInHeaders(boolean allowed) {
        return new ProxyOptions(httpListen, maxHeaderBytes, headerReadTimeout, idleTimeout,
                upstreamConnectTimeout, upstreamResponseTimeout, minDataRate, rateGrace, connections, allowed);
    }
}
