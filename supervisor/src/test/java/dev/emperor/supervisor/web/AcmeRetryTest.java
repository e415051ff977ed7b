package dev.emperor.supervisor.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class AcmeRetryTest {

    @Test
    void failedIssuanceIsRetriedAfterTenMinutesDoublingUpToTheCheckInterval() {
        assertThat(AcmeCertificates.backoff(1)).isEqualTo(Duration.ofMinutes(10));
        assertThat(AcmeCertificates.backoff(2)).isEqualTo(Duration.ofMinutes(20));
        assertThat(AcmeCertificates.backoff(4)).isEqualTo(Duration.ofMinutes(80));
        assertThat(AcmeCertificates.backoff(8)).isEqualTo(AcmeCertificates.CHECK_INTERVAL);
        assertThat(AcmeCertificates.backoff(1000)).isEqualTo(AcmeCertificates.CHECK_INTERVAL);
    }
}
