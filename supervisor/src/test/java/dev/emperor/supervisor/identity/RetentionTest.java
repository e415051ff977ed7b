package dev.emperor.supervisor.identity;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Expiry of retirement on given times: no clock, no waiting. */
class RetentionTest {
    private static final Instant T0 = Instant.parse("2026-03-01T12:00:00Z");
    private static final Duration THIRTY_DAYS = Duration.ofDays(30);

    private static Map<String, Instant> retired(Object... nameAndTime) {
        Map<String, Instant> all = new LinkedHashMap<>();
        for (int i = 0; i < nameAndTime.length; i += 2) all.put((String) nameAndTime[i], (Instant) nameAndTime[i + 1]);
        return all;
    }

    @Test
    void aTenantExpiresExactlyRetainAfterItsRetirement() {
        Map<String, Instant> r = retired("a", T0);
        assertThat(Retention.expired(r, THIRTY_DAYS, T0.plus(THIRTY_DAYS).minusMillis(1))).isEmpty();
        assertThat(Retention.expired(r, THIRTY_DAYS, T0.plus(THIRTY_DAYS))).containsExactly("a");
    }

    @Test
    void onlyTheDueOnesExpireOldestFirst() {
        Map<String, Instant> r = retired("late", T0.plus(Duration.ofDays(20)), "first", T0, "second", T0.plusSeconds(1));
        assertThat(Retention.expired(r, THIRTY_DAYS, T0.plus(Duration.ofDays(31)))).containsExactly("first", "second");
    }

    @Test
    void aShorterRetainAppliesToTenantsRetiredBefore() {
        Map<String, Instant> r = retired("a", T0);
        Instant tenDaysOn = T0.plus(Duration.ofDays(10));
        assertThat(Retention.expired(r, THIRTY_DAYS, tenDaysOn)).isEmpty();
        assertThat(Retention.expired(r, Duration.ofDays(7), tenDaysOn)).containsExactly("a");
        assertThat(Retention.expired(r, Duration.ZERO, T0)).as("retain = 0: at once").containsExactly("a");
    }

    @Test
    void theNextCheckIsTheNextExpiryWithinAMinuteAndAtLeastASecond() {
        assertThat(Retention.nextCheck(Map.of(), THIRTY_DAYS, T0)).isEqualTo(Duration.ofMinutes(1));
        assertThat(Retention.nextCheck(retired("a", T0), Duration.ofSeconds(5), T0.plusSeconds(2)))
                .isEqualTo(Duration.ofSeconds(3));
        assertThat(Retention.nextCheck(retired("a", T0), Duration.ofSeconds(5), T0.plusSeconds(60)))
                .as("due already (its purge just failed): again in a minute, not a busy loop").isEqualTo(Duration.ofMinutes(1));
        assertThat(Retention.nextCheck(retired("a", T0, "b", T0.plusSeconds(10)), Duration.ofSeconds(5), T0.plusSeconds(5)))
                .as("a due, b in 10 s").isEqualTo(Duration.ofSeconds(10));
        assertThat(Retention.nextCheck(retired("a", T0), Duration.ofMillis(5200), T0.plusSeconds(5)))
                .as("at least a second").isEqualTo(Duration.ofSeconds(1));
        assertThat(Retention.nextCheck(retired("a", T0), THIRTY_DAYS, T0)).isEqualTo(Duration.ofMinutes(1));
    }

    @Test
    void retainIsDescribedAsWritten() {
        assertThat(Retention.describe(THIRTY_DAYS)).isEqualTo("30 days");
        assertThat(Retention.describe(Duration.ofDays(1))).isEqualTo("1 day");
        assertThat(Retention.describe(Duration.ofHours(12))).isEqualTo("12h");
        assertThat(Retention.describe(Duration.ofSeconds(2))).isEqualTo("2s");
    }
}
