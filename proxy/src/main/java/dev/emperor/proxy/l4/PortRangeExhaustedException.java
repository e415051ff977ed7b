package dev.emperor.proxy.l4;

/** Every port of the configured public range has been given out once (ports are never reused). */
public final class PortRangeExhaustedException extends RuntimeException {

    PortRangeExhaustedException(int lo, int hi, String tenant, String service) {
        super("public port range " + lo + "-" + hi + " is exhausted: cannot give a port to "
                + tenant + "/" + service + " (every port in it belongs to a tenant service, and ports are"
                + " never reused; widen the range)");
    }
}
