package dev.emperor.tunrouter;

/** Which way a packet crosses the router, in uWSGI's words. */
public enum Direction {
    /** From a tenant towards the gateway (the world): uWSGI's {@code tuntap-router-firewall-out}. */
    OUT,
    /** From the gateway (the world) towards a tenant: uWSGI's {@code tuntap-router-firewall-in}. */
    IN
}
