package dev.emperor.proxy.tls;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolConfig.Protocol;
import io.netty.handler.ssl.ApplicationProtocolConfig.SelectedListenerFailureBehavior;
import io.netty.handler.ssl.ApplicationProtocolConfig.SelectorFailureBehavior;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.util.ReferenceCountUtil;
import java.util.List;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one TLS server policy, applied to every certificate: TLS 1.3 and 1.2 only (1.0/1.1
 * are deprecated by RFC 8996), forward-secret AEAD suites only, ALPN offering h2 then
 * http/1.1, session resumption (tickets and the server cache) on.
 *
 * <p>The TLS engine is BoringSSL (netty-tcnative-boringssl-static) when its native library
 * loads: about twice the handshakes and record throughput of the JDK's SSLEngine, which
 * matters on a proxy that terminates every tenant's TLS. If it cannot load (another
 * architecture, a noexec /tmp) the JDK engine serves the same policy. BoringSSL contexts
 * hold native memory and are reference counted: whoever builds one owns one reference and
 * must {@link #release} it; each engine made from a context holds its own reference, so a
 * context released while connections still use it lives until the last one closes.
 */
final class ServerContexts {

    private static final Logger log = LoggerFactory.getLogger(ServerContexts.class);

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

    /** Chosen once per JVM; logged so an operator can see which engine serves. */
    static final SslProvider PROVIDER = chooseProvider();

    private ServerContexts() {
    }

    private static SslProvider chooseProvider() {
        if (OpenSsl.isAvailable()) {
            log.info("TLS engine: {} (native)", OpenSsl.versionString());
            return SslProvider.OPENSSL_REFCNT;
        }
        log.warn("TLS engine: JDK (the native BoringSSL library did not load: {})",
                String.valueOf(OpenSsl.unavailabilityCause()));
        return SslProvider.JDK;
    }

    /** Built once per certificate, then shared by every handshake that selects it. The caller owns one reference. */
    static SslContext build(PemBundle bundle) throws CertificateRefused {
        try {
            return SslContextBuilder.forServer(bundle.privateKey(), bundle.chain())
                    .sslProvider(PROVIDER)
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

    /** Gives back the reference {@link #build} handed out (a no-op for JDK contexts). */
    static void release(SslContext context) {
        ReferenceCountUtil.release(context);
    }
}
