package dev.emperor.tunrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TokenBucketTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void overTimeTheBytesPassedStayWithinTheRateAndOneBurst() {
        long rate = 1_000_000;
        TokenBucket bucket = new TokenBucket(rate, 0);
        long passed = 0;
        // a flooder offering 1400-byte frames every microsecond for 10 s (1.4 GB/s)
        for (long now = 0; now < 10 * SECOND; now += 1000) {
            if (bucket.mayPass(now)) {
                bucket.take(1400);
                passed += 1400;
            }
        }
        assertThat(passed).isBetween(10 * rate, 10 * rate + bucket.burstBytes() + 1400);
    }

    @Test
    void aLargeFramePassesEvenAtALowRateAndItsDebtIsPaidFirst() {
        TokenBucket bucket = new TokenBucket(1000, 0);
        assertThat(bucket.burstBytes()).isEqualTo(65_536);
        bucket.take(65_536);
        assertThat(bucket.mayPass(0)).isFalse();
        bucket.take(0);
        assertThat(bucket.mayPass(0)).isFalse();
        bucket.take(60_000); // a second super-packet taken in debt is not allowed by callers; still, the debt is paid
        long wait = bucket.nanosUntilPass(0);
        assertThat(wait).isEqualTo(60_001 * SECOND / 1000);
        assertThat(bucket.mayPass(wait - 1_000_000)).isFalse();
        assertThat(bucket.mayPass(wait)).isTrue();
    }

    @Test
    void idleTimeFillsAtMostOneBurst() {
        TokenBucket bucket = new TokenBucket(10_000_000, 0);
        assertThat(bucket.burstBytes()).isEqualTo(1_000_000);
        bucket.take(1_000_000);
        assertThat(bucket.mayPass(3600 * SECOND)).isTrue();
        bucket.take(1_000_000);
        assertThat(bucket.mayPass(3600 * SECOND)).isFalse();
    }

    @Test
    void aRateBelowOneByteIsRefused() {
        assertThatThrownBy(() -> new TokenBucket(0, 0)).hasMessageContaining("at least 1");
    }
}
