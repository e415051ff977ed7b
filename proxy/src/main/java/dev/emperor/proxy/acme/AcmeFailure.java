package dev.emperor.proxy.acme;

/** Issuing a certificate failed; the message says at which step and what the CA said. */
public final class AcmeFailure extends Exception {

    public AcmeFailure(String message) {
        super(message);
    }

    public AcmeFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
