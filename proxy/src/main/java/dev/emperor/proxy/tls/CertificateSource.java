package dev.emperor.proxy.tls;

import io.netty.handler.ssl.SslContext;

/**
 * Picks the server certificate for a TLS handshake. Never returns null: a name nothing
 * matches (or no SNI at all) gets the self-signed fallback. Must be fast and non-blocking:
 * it runs on the event loop for every handshake.
 *
 * <p>Contexts may be reference counted (native BoringSSL ones are) and may be replaced at
 * any moment by a certificate upload on another thread, so the returned context is retained
 * for the caller, who releases it ({@code ReferenceCountUtil.release}) once it has made its
 * engine (the engine keeps a reference of its own).
 */
public interface CertificateSource {

    /** @param serverName the SNI host name, lower case, or null if the client sent none */
    SslContext acquire(String serverName);
}
