package dev.emperor.proxy.acme;

import java.net.http.HttpClient;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.shredzone.acme4j.connector.HttpConnector;
import org.shredzone.acme4j.connector.NetworkSettings;
import org.shredzone.acme4j.provider.GenericAcmeProvider;

/**
 * An acme4j provider for a generic {@code https://} directory whose TLS certificate is
 * issued by one given CA instead of a public one: a private ACME CA, or pebble in tests.
 * Trusting exactly that CA (not "trust all") keeps the ACME connection authenticated.
 */
final class AcmeServerTrust extends GenericAcmeProvider {

    private final SSLContext sslContext;

    AcmeServerTrust(X509Certificate trustedCa) throws GeneralSecurityException {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        try {
            trust.load(null, null);
        } catch (java.io.IOException e) {
            throw new GeneralSecurityException("empty key store", e);
        }
        trust.setCertificateEntry("acme-ca", trustedCa);
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(trust);
        sslContext = SSLContext.getInstance("TLS");
        sslContext.init(null, factory.getTrustManagers(), null);
    }

    @Override
    protected HttpConnector createHttpConnector(NetworkSettings settings) {
        return new HttpConnector(settings) {
            @Override
            public HttpClient.Builder createClientBuilder() {
                return super.createClientBuilder().sslContext(sslContext);
            }
        };
    }
}
