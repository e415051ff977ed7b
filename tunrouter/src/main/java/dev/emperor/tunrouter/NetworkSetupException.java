package dev.emperor.tunrouter;

/**
 * A kernel network set-up step failed: creating or configuring a tun device, entering a network
 * namespace, or installing NAT. The message names the step and the interface or namespace, e.g.
 * {@code "SIOCSIFADDR emperor0 10.200.0.1: Cannot assign requested address"}.
 */
public final class NetworkSetupException extends RuntimeException {
    public NetworkSetupException(String message) {
        super(message);
    }

    public NetworkSetupException(String message, Throwable cause) {
        super(message, cause);
    }
}
