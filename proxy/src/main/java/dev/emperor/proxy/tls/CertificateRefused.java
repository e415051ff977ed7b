package dev.emperor.proxy.tls;

/**
 * A certificate bundle was not accepted. The message is the reason, written for the person
 * who uploaded it (it is shown verbatim by {@code emperor cert put}).
 */
public final class CertificateRefused extends Exception {

    public CertificateRefused(String reason) {
        super(reason);
    }
}
