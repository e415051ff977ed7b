package dev.emperor.supervisor.config;

import dev.emperor.proxy.ProxyOptions;
import java.time.Duration;

/**
 * How long and how slowly the front proxy lets a client take its time (emperor.ini's
 * {@code client-*} and {@code upstream-timeout} keys). Read at start only.
 *
 * @param headerTimeout   {@code client-header-timeout}: a request head must be complete this soon after its first byte
 * @param idleTimeout     {@code client-idle-timeout}: a connection with no traffic either way is closed
 * @param minRate         {@code client-min-rate}: bytes per second a client must average while sending a
 *                        body or while it is behind in reading a response; 0 = no minimum
 * @param rateGrace       {@code client-rate-grace}: how long a transfer runs before the rate is judged
 * @param upstreamTimeout {@code upstream-timeout}: from request sent to the app to its response head (504)
 */
public record ClientLimits(
        Duration headerTimeout,
        Duration idleTimeout,
        long minRate,
        Duration rateGrace,
        Duration upstreamTimeout) {

    /** The proxy's own defaults: 20 s, 75 s, 240 B/s after 5 s, 60 s. */
    public static ClientLimits defaults() {
        ProxyOptions d = ProxyOptions.defaults();
        return new ClientLimits(d.headerReadTimeout(), d.idleTimeout(), d.minDataRate(), d.rateGrace(),
                d.upstreamResponseTimeout());
    }

    /** {@code options} with these limits. */
    public ProxyOptions applyTo(ProxyOptions options) {
        return options.withTimeouts(headerTimeout, idleTimeout, options.upstreamConnectTimeout(), upstreamTimeout)
                .withMinDataRate(minRate, rateGrace);
    }
}
