package dev.emperor.supervisor.services;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CronScheduleTest {
    private static final ZoneId UTC = ZoneOffset.UTC;
    private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");

    private static Instant utc(String local) {
        return LocalDateTime.parse(local).toInstant(ZoneOffset.UTC);
    }

    private static String nextUtc(String schedule, String after) {
        return CronSchedule.parse(schedule).next(utc(after), UTC).map(i -> LocalDateTime.ofInstant(i, UTC).toString())
                .orElse("never");
    }

    /** The next n runs in zone, as zoned times. */
    private static List<String> runs(String schedule, ZonedDateTime from, int n) {
        CronSchedule s = CronSchedule.parse(schedule);
        List<String> out = new ArrayList<>();
        Instant t = from.toInstant();
        for (int i = 0; i < n; i++) {
            t = s.next(t, from.getZone()).orElseThrow();
            out.add(t.atZone(from.getZone()).toOffsetDateTime().toString());
        }
        return out;
    }

    @ParameterizedTest(name = "{0} after {1} is {2}")
    @CsvSource({
        // uWSGI's form: -1 any, -N every N
        "59 2 -1 -1 -1,        2024-05-10T03:00, 2024-05-11T02:59",
        "-1 -1 -1 -1 -1,       2024-05-10T03:00, 2024-05-10T03:01",
        "-5 -1 -1 -1 -1,       2024-05-10T03:01, 2024-05-10T03:05",
        "0 -6 -1 -1 -1,        2024-05-10T03:00, 2024-05-10T06:00",
        "9 11 -1 -1 2,         2024-05-10T03:00, 2024-05-14T11:09",
        // crontab's form
        "*/15 * * * *,         2024-05-10T03:14, 2024-05-10T03:15",
        "0 9-17/4 * * mon-fri, 2024-05-10T18:00, 2024-05-13T09:00",
        "30 8 * * 7,           2024-05-10T00:00, 2024-05-12T08:30",
        "30 8 * * 0,           2024-05-10T00:00, 2024-05-12T08:30",
        "0 0 1 jan *,          2024-05-10T00:00, 2025-01-01T00:00",
        "5/20 * * * *,         2024-05-10T00:06, 2024-05-10T00:25",
        "0 0 29 2 *,           2025-01-01T00:00, 2028-02-29T00:00",
        "'1,2,3 4 * * *',      2024-05-10T04:02, 2024-05-10T04:03",
        "@daily,               2024-05-10T00:00, 2024-05-11T00:00",
        "@hourly,              2024-05-10T00:00, 2024-05-10T01:00",
        "@weekly,              2024-05-10T00:00, 2024-05-12T00:00",
        "@monthly,             2024-05-10T00:00, 2024-06-01T00:00",
        "@yearly,              2024-05-10T00:00, 2025-01-01T00:00",
    })
    void findsTheNextRun(String schedule, String after, String expected) {
        assertThat(nextUtc(schedule, after)).isEqualTo(expected);
    }

    @Test
    void nextIsStrictlyAfterEvenOnAMatchingMinute() {
        assertThat(nextUtc("30 * * * *", "2024-05-10T03:30")).isEqualTo("2024-05-10T04:30");
        assertThat(CronSchedule.parse("30 * * * *").next(utc("2024-05-10T03:29").plusSeconds(59), UTC))
                .contains(utc("2024-05-10T03:30"));
    }

    @Test
    void bothDaysRestrictedMatchEitherLikeVixieCron() {
        // The 13th OR a Friday: 2024-05-10 is a Friday, the 13th is a Monday.
        assertThat(nextUtc("0 0 13 * 5", "2024-05-09T12:00")).isEqualTo("2024-05-10T00:00");
        assertThat(nextUtc("0 0 13 * 5", "2024-05-10T12:00")).isEqualTo("2024-05-13T00:00");
        // uWSGI: "day and weekday are ORed as the original crontab specifications".
        assertThat(nextUtc("0 0 13 -1 5", "2024-05-10T12:00")).isEqualTo("2024-05-13T00:00");
    }

    @Test
    void aWildcardDayFieldMakesTheOtherOneDecide() {
        // * in day-of-month: only Fridays; */2 starts with * too, so it ANDs (odd days that are Fridays... or any day when dow is *).
        assertThat(nextUtc("0 0 * * 5", "2024-05-10T12:00")).isEqualTo("2024-05-17T00:00");
        assertThat(nextUtc("0 0 */2 * 5", "2024-05-10T12:00")).isEqualTo("2024-05-17T00:00");
        assertThat(nextUtc("0 0 */2 * *", "2024-05-10T12:00")).isEqualTo("2024-05-11T00:00");
        // uWSGI's -2 in day-of-month is crontab's */2: a wildcard too.
        assertThat(nextUtc("0 0 -2 -1 5", "2024-05-10T12:00")).isEqualTo("2024-05-17T00:00");
    }

    @Test
    void aSkippedTimeRunsOnceWhenTheGapEndsForFixedTimeJobs() {
        // Berlin, 2024-03-31: 02:00 CET jumps to 03:00 CEST.
        ZonedDateTime before = ZonedDateTime.of(2024, 3, 30, 12, 0, 0, 0, BERLIN);
        assertThat(runs("30 2 * * *", before, 3)).containsExactly(
                "2024-03-31T03:00+02:00", "2024-04-01T02:30+02:00", "2024-04-02T02:30+02:00");
        // Two slots in the gap still give one run.
        assertThat(runs("0,30 2 * * *", before, 3)).containsExactly(
                "2024-03-31T03:00+02:00", "2024-04-01T02:00+02:00", "2024-04-01T02:30+02:00");
    }

    @Test
    void wildcardJobsSimplyHaveNoRunsInTheSkippedHour() {
        ZonedDateTime before = ZonedDateTime.of(2024, 3, 31, 1, 58, 0, 0, BERLIN);
        assertThat(runs("* * * * *", before, 3)).containsExactly(
                "2024-03-31T01:59+01:00", "2024-03-31T03:00+02:00", "2024-03-31T03:01+02:00");
        assertThat(runs("30 * * * *", before, 2)).containsExactly("2024-03-31T03:30+02:00", "2024-03-31T04:30+02:00");
    }

    @Test
    void aRepeatedTimeRunsOnceForFixedTimeJobs() {
        // Berlin, 2024-10-27: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
        ZonedDateTime before = ZonedDateTime.of(2024, 10, 26, 12, 0, 0, 0, BERLIN);
        assertThat(runs("30 2 * * *", before, 2)).containsExactly("2024-10-27T02:30+02:00", "2024-10-28T02:30+01:00");
    }

    @Test
    void wildcardJobsRunThroughBothPassesOfARepeatedHour() {
        ZonedDateTime before = ZonedDateTime.of(2024, 10, 27, 2, 0, 0, 0, BERLIN).withEarlierOffsetAtOverlap();
        assertThat(runs("30 * * * *", before, 3)).containsExactly(
                "2024-10-27T02:30+02:00", "2024-10-27T02:30+01:00", "2024-10-27T03:30+01:00");
        List<String> minutes = runs("* * * * *", ZonedDateTime.of(2024, 10, 27, 2, 58, 0, 0, BERLIN)
                .withEarlierOffsetAtOverlap(), 3);
        assertThat(minutes).containsExactly("2024-10-27T02:59+02:00", "2024-10-27T02:00+01:00", "2024-10-27T02:01+01:00");
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', value = {
        "61 * * * *          | bad minute field '61': 61 is out of range 0-59",
        "* 24 * * *          | bad hour field '24': 24 is out of range 0-23",
        "* * 0 * *           | bad day-of-month field '0': 0 is out of range 1-31",
        "* * * 13 *          | bad month field '13': 13 is out of range 1-12",
        "* * * * 8           | bad day-of-week field '8': 8 is out of range 0-7",
        "1,,2 * * * *        | bad minute field '1,,2': empty list element",
        "*/0 * * * *         | bad minute field '*/0': step must be at least 1",
        "*/1000000 * * * *   | bad minute field '*/1000000': step 1000000 is larger than the field's range 0-59",
        "*/99999999999 * * * * | bad minute field '*/99999999999': '99999999999' is not a number",
        "-0 * * * *          | bad minute field '-0': -0 means nothing",
        "-61 * * * *         | bad minute field '-61': step 61 is larger",
        "-x * * * *          | bad minute field '-x': 'x' is not a number",
        "5-1 * * * *         | bad minute field '5-1': range 5-1 runs backwards",
        "* * * foo *         | bad month field 'foo': 'foo' is not a number or a name like jan",
        "* * * * funday      | bad day-of-week field 'funday'",
        "a b c d e           | bad minute field 'a'",
        "* * * *             | expected 5 schedule fields",
        "* * * * * *         | expected 5 schedule fields",
        "''                  | expected 5 schedule fields",
        "0 0 30 2 *          | day-of-month 30 never occurs in month 2",
        "0 0 31 4,6 *        | day-of-month 31 never occurs in month 4,6",
        "@reboot             | @reboot is not supported",
        "@sometimes          | unknown macro '@sometimes'",
    })
    void hostileSchedulesAreRefusedNamingTheField(String schedule, String message) {
        assertThatThrownBy(() -> CronSchedule.parse(schedule)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message);
    }

    @Test
    void namesAreCaseInsensitiveAndSevenIsSunday() {
        assertThat(nextUtc("0 0 * JAN-Mar SUN", "2024-05-10T00:00")).isEqualTo("2025-01-05T00:00");
        assertThat(nextUtc("0 0 * * 5-7", "2024-05-11T12:00")).isEqualTo("2024-05-12T00:00");
    }

    @Test
    void cronLinesSplitScheduleFromCommand() {
        CronJob uwsgi = CronJob.parse("59 2 -1 -1 -1 /usr/bin/backup_my_home --recursive");
        assertThat(uwsgi.schedule().text()).isEqualTo("59 2 -1 -1 -1");
        assertThat(uwsgi.argv()).containsExactly("/bin/sh", "-c", "/usr/bin/backup_my_home --recursive");
        CronJob macro = CronJob.parse("@daily   echo hi >> /tmp/x");
        assertThat(macro.argv()).containsExactly("/bin/sh", "-c", "echo hi >> /tmp/x");
        assertThatThrownBy(() -> CronJob.parse("-1 -1 -1 -1 -1")).hasMessageContaining("no command");
        assertThatThrownBy(() -> CronJob.parse("@daily")).hasMessageContaining("no command");
        // the tenant's shell reads the command, and reports its syntax errors in the tenant's log
        assertThat(CronJob.parse("-1 -1 -1 -1 -1 'unclosed").argv()).containsExactly("/bin/sh", "-c", "'unclosed");
    }
}
