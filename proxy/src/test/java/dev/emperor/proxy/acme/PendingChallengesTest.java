package dev.emperor.proxy.acme;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class PendingChallengesTest {

    /** A clock the test moves by hand. */
    static final class ManualClock extends Clock {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void answersRepeatedlyForTheRightHostUntilRemoved() {
        var challenges = new PendingChallenges();
        challenges.add("Shop.Test", "tok", "tok.thumb");
        assertThat(challenges.keyAuthorization("shop.test", "tok")).contains("tok.thumb");
        assertThat(challenges.keyAuthorization("shop.test:80", "tok")).contains("tok.thumb"); // CAs validate more than once
        assertThat(challenges.keyAuthorization("other.test", "tok")).isEmpty();
        assertThat(challenges.keyAuthorization("shop.test", "other")).isEmpty();
        challenges.remove("shop.test", "tok");
        assertThat(challenges.keyAuthorization("shop.test", "tok")).isEmpty();
    }

    @Test
    void entriesExpire() {
        var clock = new ManualClock();
        var challenges = new PendingChallenges(clock, Duration.ofMinutes(10));
        challenges.add("shop.test", "tok", "tok.thumb");
        clock.now = clock.now.plus(Duration.ofMinutes(11));
        assertThat(challenges.keyAuthorization("shop.test", "tok")).isEmpty();
        assertThat(challenges.size()).isZero();
    }
}
