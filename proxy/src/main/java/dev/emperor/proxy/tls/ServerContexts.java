package dev.emperor.proxy.tls;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolConfig.Protocol;
import io.netty.handler.ssl.ApplicationProtocolConfig.SelectedListenerFailureBehavior;
import io.netty.handler.ssl.ApplicationProtocolConfig.SelectorFailureBehavior;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.util.List;
import javax.net.ssl.SSLException;

/**
 * The one TLS server policy, applied to every certificate: TLS 1.3 and 1.2 only (1.0/1.1
 * are deprecated by RFC 8996), forward-secret AEAD suites only, ALPN offering h2 then
 * http/1.1. The JDK provider is used on purpose: no native tcnative library to ship, and
 * the JDK's TLS 1.3 and ALPN are complete.
 */
final class ServerContexts {

    static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    /** TLS 1.3 suites, then ECDHE + AES-GCM / ChaCha20-Poly1305 for 1.2 (also what RFC 7540 9.2.2 wants for h2). */
    static final List<String> CIPHERS = List.of(
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    private ServerContexts() {
    }

    /** Built once per certificate, then shared by every handshake that selects it. */
    static SslContext build(PemBundle bundle) throws CertificateRefused {
        try {
            return SslContextBuilder.forServer(bundle.privateKey(), bundle.chain())
                    .sslProvider(SslProvider.JDK)
                    .protocols(PROTOCOLS)
                    .ciphers(CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
                    .applicationProtocolConfig(new ApplicationProtocolConfig(
                            Protocol.ALPN,
                            SelectorFailureBehavior.NO_ADVERTISE,
                            SelectedListenerFailureBehavior.ACCEPT,
                            ApplicationProtocolNames.HTTP_2,
                            ApplicationProtocolNames.HTTP_1_1))
                    .build();
        } catch (SSLException | RuntimeException e) {
            throw new CertificateRefused("TLS cannot use this key and certificate: " + e.getMessage());
        }
    }
}
