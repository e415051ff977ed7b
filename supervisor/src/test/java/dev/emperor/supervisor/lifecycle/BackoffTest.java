package dev.emperor.supervisor.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {
    private final Backoff backoff = new Backoff(Duration.ofSeconds(60), Duration.ofSeconds(10));

    @Test
    void quickCrashesDoubleTheDelayFromOneSecond() {
        assertThat(backoff.onExit(Duration.ofMillis(100))).isEqualTo(Duration.ofSeconds(1));
        assertThat(backoff.onExit(Duration.ofMillis(100))).isEqualTo(Duration.ofSeconds(2));
        assertThat(backoff.onExit(Duration.ofMillis(100))).isEqualTo(Duration.ofSeconds(4));
        assertThat(backoff.quickFailures()).isEqualTo(3);
    }

    @Test
    void theDelayIsCappedAtTheMaximum() {
        Duration last = Duration.ZERO;
        for (int i = 0; i < 100; i++) last = backoff.onFailure();
        assertThat(last).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void aPayloadThatRanLongEnoughRestartsAtOnceAndForgetsPastCrashes() {
        backoff.onFailure();
        backoff.onFailure();
        assertThat(backoff.onExit(Duration.ofSeconds(10))).isZero();
        assertThat(backoff.onExit(Duration.ofMillis(1))).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void aRunCountsAsHealthyFromTheStableTimeOn() {
        assertThat(backoff.ranLongEnough(Duration.ofSeconds(10))).isTrue();
        assertThat(backoff.ranLongEnough(Duration.ofMillis(9999))).isFalse();
        assertThat(backoff.quickFailures()).as("asking records nothing").isZero();
    }

    @Test
    void anOperatorStartResetsTheDelay() {
        backoff.onFailure();
        backoff.onFailure();
        backoff.reset();
        assertThat(backoff.onFailure()).isEqualTo(Duration.ofSeconds(1));
    }
}
