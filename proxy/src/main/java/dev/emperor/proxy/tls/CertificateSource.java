package dev.emperor.proxy.tls;

import io.netty.handler.ssl.SslContext;

/**
 * Picks the server certificate for a TLS handshake. Never returns null: a name nothing
 * matches (or no SNI at all) gets the self-signed fallback. Must be fast and non-blocking:
 * it runs on the event loop for every handshake.
 */
public interface CertificateSource {

    /** @param serverName the SNI host name, lower case, or null if the client sent none */
    SslContext forServerName(String serverName);
}
