package dev.emperor.fleet.safety;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class LeaseClockTest {
    private static final long S = 1_000_000_000L;

    @Test
    void theLeaseIsCertainFromTheSendTimeNotTheAnswerTime() {
        LeaseClock clock = new LeaseClock();
        clock.confirmed(100 * S, Duration.ofSeconds(10)); // answered at, say, 103 s: still 110 s
        assertThat(clock.validUntilNanos()).isEqualTo(110 * S);
        assertThat(clock.remaining(104 * S)).isEqualTo(Duration.ofSeconds(6));
    }

    @Test
    void aLateAnswerToAnOlderKeepAliveNeverShortensNorLengthensWrongly() {
        LeaseClock clock = new LeaseClock();
        clock.confirmed(200 * S, Duration.ofSeconds(10));
        clock.confirmed(195 * S, Duration.ofSeconds(10)); // the answer to an earlier send, arriving late
        assertThat(clock.validUntilNanos()).isEqualTo(210 * S);
    }

    @Test
    void withoutAGrantNothingIsCertain() {
        LeaseClock clock = new LeaseClock();
        assertThat(clock.granted()).isFalse();
        assertThat(clock.remaining(0)).isEqualTo(Duration.ZERO);
        assertThatThrownBy(clock::validUntilNanos).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void etcdContactHasAGapWiderThanTheFreshnessBetweenReachableAndUnreachable() {
        FleetTiming timing = FleetTiming.forLease(Duration.ofSeconds(10), Duration.ofSeconds(3));
        long answer = 50 * S;
        assertThat(EtcdContact.of(timing, true, answer, answer + timing.reachableWithin().toNanos() - 1))
                .isEqualTo(EtcdContact.REACHABLE);
        assertThat(EtcdContact.of(timing, true, answer, answer + timing.reachableWithin().toNanos()))
                .isEqualTo(EtcdContact.UNSURE);
        assertThat(EtcdContact.of(timing, true, answer, answer + timing.unreachableAfter().toNanos()))
                .isEqualTo(EtcdContact.UNREACHABLE);
        assertThat(EtcdContact.of(timing, false, 0, answer)).isEqualTo(EtcdContact.UNREACHABLE);
        assertThat(timing.unreachableAfter().minus(timing.reachableWithin())).isGreaterThan(timing.freshness());
    }

    @Test
    void timingsThatCannotBeSafeAreRefusedWithTheReason() {
        assertThatThrownBy(() -> new FleetTiming(Duration.ofSeconds(10), Duration.ofSeconds(1), Duration.ofMillis(500),
                Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(3), Duration.ofSeconds(3), Duration.ofSeconds(1)))
                .hasMessageContaining("unreachableAfter must exceed reachableWithin + freshness");
        assertThatThrownBy(() -> new FleetTiming(Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofMillis(500),
                Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(3), Duration.ofSeconds(1)))
                .hasMessageContaining("the lease TTL must leave time");
    }
}
