package dev.emperor.supervisor.services;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.time.zone.ZoneOffsetTransition;
import java.time.zone.ZoneRules;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * When a cron job runs: five fields (minute, hour, day of month, month, day of week) in either
 * uWSGI's form ({@code -1} = any, {@code -N} = every N, i.e. crontab's {@code * /N}) or
 * crontab's ({@code *}, lists, ranges, steps, month and day names), or one of the macros
 * {@code @yearly @annually @monthly @weekly @daily @midnight @hourly}.
 *
 * <p>Day of month and day of week follow Vixie cron: when both are restricted (neither starts
 * with {@code *} nor is uWSGI's {@code -1}/{@code -N}), a day matches if EITHER matches;
 * otherwise both must.
 *
 * <p>Daylight saving time, as cronie does it: a time that is skipped (spring forward) runs once
 * when the gap ends, but only for fixed-time jobs (minute and hour both restricted); a time
 * that occurs twice (fall back) runs once, at its first occurrence, for fixed-time jobs, while
 * jobs with a wildcard minute or hour simply keep running through both passes.
 *
 * <p>Immutable and pure: no clock, no zone of its own; {@link #next} is told both.
 */
public final class CronSchedule {
    /** Further than any real search; a schedule that finds nothing in this many years never matches. */
    private static final int SEARCH_YEARS = 30;
    /** Larger than any DST or zone shift, so instants found in local-time order are compared fairly. */
    private static final long OVERLAP_MARGIN_HOURS = 3;

    private static final List<String> MONTHS =
            List.of("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec");
    private static final List<String> DAYS = List.of("sun", "mon", "tue", "wed", "thu", "fri", "sat");

    /** One field: the set of allowed values as bits, and whether it was written as a wildcard. */
    private record Field(long bits, boolean star) {
        boolean has(int value) {
            return (bits & (1L << value)) != 0;
        }
    }

    private final String text;
    private final Field minute;
    private final Field hour;
    private final Field dayOfMonth;
    private final Field month;
    private final Field dayOfWeek;

    private CronSchedule(String text, Field minute, Field hour, Field dayOfMonth, Field month, Field dayOfWeek) {
        this.text = text;
        this.minute = minute;
        this.hour = hour;
        this.dayOfMonth = dayOfMonth;
        this.month = month;
        this.dayOfWeek = dayOfWeek;
    }

    /**
     * Parses a schedule: five fields separated by blanks, or one macro.
     *
     * @throws IllegalArgumentException naming the field and what is wrong with it
     */
    public static CronSchedule parse(String text) {
        String trimmed = text.strip();
        if (trimmed.startsWith("@")) return parse(macro(trimmed)).withText(trimmed);
        String[] parts = trimmed.isEmpty() ? new String[0] : trimmed.split("\\s+");
        if (parts.length != 5) {
            throw new IllegalArgumentException("expected 5 schedule fields (minute hour day-of-month month day-of-week)"
                    + " or a macro like @daily, found " + parts.length);
        }
        Field minute = field("minute", parts[0], 0, 59, List.of());
        Field hour = field("hour", parts[1], 0, 23, List.of());
        Field dayOfMonth = field("day-of-month", parts[2], 1, 31, List.of());
        Field month = field("month", parts[3], 1, 12, MONTHS);
        Field dayOfWeek = field("day-of-week", parts[4], 0, 7, DAYS);
        if ((dayOfWeek.bits & (1L << 7)) != 0) dayOfWeek = new Field((dayOfWeek.bits & ~(1L << 7)) | 1L, dayOfWeek.star);
        CronSchedule schedule = new CronSchedule(String.join(" ", parts), minute, hour, dayOfMonth, month, dayOfWeek);
        if (dayOfWeek.star && !schedule.someMonthHasTheDay()) {
            throw new IllegalArgumentException("day-of-month " + parts[2] + " never occurs in month " + parts[3]);
        }
        return schedule;
    }

    private CronSchedule withText(String newText) {
        return new CronSchedule(newText, minute, hour, dayOfMonth, month, dayOfWeek);
    }

    private static String macro(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "@yearly", "@annually" -> "0 0 1 1 *";
            case "@monthly" -> "0 0 1 * *";
            case "@weekly" -> "0 0 * * 0";
            case "@daily", "@midnight" -> "0 0 * * *";
            case "@hourly" -> "0 * * * *";
            case "@reboot" -> throw new IllegalArgumentException("@reboot is not supported: use a daemon line instead");
            default -> throw new IllegalArgumentException("unknown macro " + quote(name)
                    + " (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)");
        };
    }

    /** The schedule as written (normalised blanks). */
    public String text() {
        return text;
    }

    @Override
    public String toString() {
        return text;
    }

    // ---- parsing ----------------------------------------------------------------------------

    private static Field field(String name, String text, int min, int max, List<String> names) {
        String problem = "bad " + name + " field " + quote(text) + ": ";
        // uWSGI's form: a lone negative number. -1 = any, -N = every N from the minimum.
        if (text.startsWith("-")) {
            int every = number(text.substring(1), problem, List.of(), 0);
            if (every < 1) throw new IllegalArgumentException(problem + "-0 means nothing (uWSGI: -1 = any, -N = every N)");
            checkStep(every, min, max, problem);
            return new Field(range(min, max, every), true);
        }
        long bits = 0;
        for (String element : text.split(",", -1)) {
            if (element.isEmpty()) throw new IllegalArgumentException(problem + "empty list element");
            bits |= element(element, min, max, names, problem);
        }
        return new Field(bits, text.startsWith("*"));
    }

    private static long element(String element, int min, int max, List<String> names, String problem) {
        int slash = element.indexOf('/');
        String base = slash < 0 ? element : element.substring(0, slash);
        int step = 1;
        if (slash >= 0) {
            step = number(element.substring(slash + 1), problem, List.of(), 0);
            if (step < 1) throw new IllegalArgumentException(problem + "step must be at least 1");
            checkStep(step, min, max, problem);
        }
        int low;
        int high;
        if (base.equals("*")) {
            low = min;
            high = max;
        } else {
            int dash = base.indexOf('-');
            low = number(dash < 0 ? base : base.substring(0, dash), problem, names, min);
            // "5/15" is cronie's "5-MAX/15"; a plain "5" is just 5.
            high = dash >= 0 ? number(base.substring(dash + 1), problem, names, min) : slash >= 0 ? max : low;
            for (int v : new int[] {low, high}) {
                if (v < min || v > max) {
                    throw new IllegalArgumentException(problem + v + " is out of range " + min + "-" + max);
                }
            }
            if (low > high) throw new IllegalArgumentException(problem + "range " + low + "-" + high + " runs backwards");
        }
        return range(low, high, step);
    }

    /** A number, or (for months and days) its three-letter name; {@code nameBase} is the value of names[0]. */
    private static int number(String text, String problem, List<String> names, int nameBase) {
        if (text.isEmpty()) throw new IllegalArgumentException(problem + "missing number");
        int named = names.indexOf(text.toLowerCase(Locale.ROOT));
        if (named >= 0) return named + nameBase;
        if (text.length() > 9 || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException(problem + quote(text) + " is not a number"
                    + (names.isEmpty() ? "" : " or a name like " + names.get(0)));
        }
        return Integer.parseInt(text);
    }

    private static void checkStep(int step, int min, int max, String problem) {
        if (step > max - min + 1) {
            throw new IllegalArgumentException(problem + "step " + step + " is larger than the field's range " + min + "-" + max);
        }
    }

    private static long range(int low, int high, int step) {
        long bits = 0;
        for (int v = low; v <= high; v += step) bits |= 1L << v;
        return bits;
    }

    /** With a wildcard day of week, is there any (month, day) pair that exists at all (Feb 29 counts)? */
    private boolean someMonthHasTheDay() {
        for (int m = 1; m <= 12; m++) {
            if (!month.has(m)) continue;
            int length = java.time.Month.of(m).maxLength();
            for (int d = 1; d <= length; d++) if (dayOfMonth.has(d)) return true;
        }
        return false;
    }

    // ---- matching ---------------------------------------------------------------------------

    /** Fixed-time jobs (minute and hour both restricted) get cronie's DST treatment. */
    private boolean fixedTime() {
        return !minute.star && !hour.star;
    }

    private boolean dayMatches(LocalDate date) {
        boolean dom = dayOfMonth.has(date.getDayOfMonth());
        boolean dow = dayOfWeek.has(date.getDayOfWeek() == DayOfWeek.SUNDAY ? 0 : date.getDayOfWeek().getValue());
        return dayOfMonth.star || dayOfWeek.star ? dom && dow : dom || dow;
    }

    /** The first local time at or after {@code from} (whole minutes) that the fields match, or null. */
    LocalDateTime nextLocal(LocalDateTime from) {
        LocalDateTime t = from.truncatedTo(ChronoUnit.MINUTES);
        if (t.isBefore(from)) t = t.plusMinutes(1);
        int lastYear = t.getYear() + SEARCH_YEARS;
        while (t.getYear() <= lastYear) {
            if (!month.has(t.getMonthValue())) {
                t = t.toLocalDate().withDayOfMonth(1).plusMonths(1).atStartOfDay();
            } else if (!dayMatches(t.toLocalDate())) {
                t = t.toLocalDate().plusDays(1).atStartOfDay();
            } else if (!hour.has(t.getHour())) {
                t = t.truncatedTo(ChronoUnit.HOURS).plusHours(1);
            } else if (!minute.has(t.getMinute())) {
                t = t.plusMinutes(1);
            } else {
                return t;
            }
        }
        return null;
    }

    /**
     * The first instant strictly after {@code after} at which the job is due in {@code zone},
     * or empty if the schedule never matches again (within decades).
     */
    public Optional<Instant> next(Instant after, ZoneId zone) {
        ZoneRules rules = zone.getRules();
        // Local times are searched in order, starting a little early: around a fall-back
        // transition a later local time can be an earlier instant.
        LocalDateTime local = nextLocal(LocalDateTime.ofInstant(after, zone).minusHours(OVERLAP_MARGIN_HOURS));
        Instant best = null;
        LocalDateTime bestLocal = null;
        while (local != null) {
            if (bestLocal != null && local.isAfter(bestLocal.plusHours(OVERLAP_MARGIN_HOURS))) break;
            for (Instant candidate : instantsOf(local, rules)) {
                if (candidate.isAfter(after) && (best == null || candidate.isBefore(best))) {
                    best = candidate;
                    bestLocal = local;
                }
            }
            local = nextLocal(local.plusMinutes(1));
        }
        return Optional.ofNullable(best);
    }

    /** The instants at which a matching local time fires, by the DST rules above. */
    private List<Instant> instantsOf(LocalDateTime local, ZoneRules rules) {
        List<ZoneOffset> offsets = rules.getValidOffsets(local);
        if (offsets.size() == 1) return List.of(local.toInstant(offsets.get(0)));
        if (offsets.isEmpty()) {
            // Skipped by a spring-forward gap: fixed-time jobs run once when the gap ends.
            ZoneOffsetTransition gap = rules.getTransition(local);
            return fixedTime() ? List.of(gap.getInstant()) : List.of();
        }
        Instant first = local.toInstant(offsets.get(0));
        Instant second = local.toInstant(offsets.get(1));
        if (second.isBefore(first)) {
            Instant swap = first;
            first = second;
            second = swap;
        }
        return fixedTime() ? List.of(first) : List.of(first, second);
    }

    private static String quote(String s) {
        return "'" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "'";
    }
}
