package dev.emperor.supervisor.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Certificate origins and ACME back-offs. */
class CertificateStoreTest extends StoreTestBase {
    @Test
    void certificateOriginsSurviveReopeningAndCanBeForgotten() throws Exception {
        assertThat(store.certificates().origin("shop")).isEmpty();
        store.certificates().setOrigin("shop", CertificateOrigin.UPLOAD);
        store.certificates().setOrigin("shop", CertificateOrigin.ACME);
        store.certificates().setOrigin("blog", CertificateOrigin.UPLOAD);
        store.close();

        store = StateStore.open(stateDir);
        assertThat(store.certificates().origin("shop")).contains(CertificateOrigin.ACME);
        assertThat(store.certificates().origin("blog")).contains(CertificateOrigin.UPLOAD);
        store.certificates().setOrigin("shop", null);
        assertThat(store.certificates().origin("shop")).isEmpty();
        assertThat(store.certificates().origin("blog")).contains(CertificateOrigin.UPLOAD);
    }

    @Test
    void acmeBackOffsSurviveReopeningAndCanBeForgotten() throws Exception {
        Instant notBefore = Instant.parse("2031-05-04T10:20:30.123Z");
        assertThat(store.certificates().acmeRetries()).isEmpty();
        store.certificates().setAcmeRetry("shop", new AcmeRetry(1, notBefore));
        store.certificates().setAcmeRetry("shop", new AcmeRetry(2, notBefore.plusSeconds(600)));
        store.certificates().setAcmeRetry("blog", new AcmeRetry(5, notBefore));
        store.close();

        store = StateStore.open(stateDir);
        assertThat(store.certificates().acmeRetries()).containsExactly(
                Map.entry("blog", new AcmeRetry(5, notBefore)),
                Map.entry("shop", new AcmeRetry(2, notBefore.plusSeconds(600))));
        store.certificates().setAcmeRetry("shop", null);
        store.certificates().setAcmeRetry("nobody", null);
        assertThat(store.certificates().acmeRetries()).containsOnlyKeys("blog");
        assertThatThrownBy(() -> store.certificates().setAcmeRetry("blog", new AcmeRetry(0, notBefore)))
                .isInstanceOf(StateException.class);
        assertThat(store.certificates().acmeRetries().get("blog")).isEqualTo(new AcmeRetry(5, notBefore));
    }
}
