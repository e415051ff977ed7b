package dev.emperor.supervisor.services;

import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.jail.ExitStatus;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The scheduler against a manual clock: hours of cron in milliseconds. */
class CronSchedulerTest {
    private static final Instant START = Instant.parse("2024-05-10T03:00:30Z");
    private final ManualTime time = new ManualTime(START);
    private final FakeCommands commands = new FakeCommands();
    private final RecordingEvents events = new RecordingEvents();

    private CronScheduler scheduler(ZoneId zone, Duration limit) {
        return new CronScheduler(zone, time, time, commands, limit, Duration.ofSeconds(5), events);
    }

    @Test
    void everyMinuteJobRunsOncePerMinuteAtTheMinute() {
        CronScheduler cron = scheduler(ZoneOffset.UTC, Duration.ofHours(1));
        cron.setJobs(List.of(CronJob.parse("-1 -1 -1 -1 -1 touch /tmp/x")));
        time.advance(Duration.ofSeconds(29));
        assertThat(commands.started).isEmpty();
        time.advance(Duration.ofSeconds(1)); // 03:01:00
        assertThat(commands.started).containsExactly(List.of("/bin/sh", "-c", "touch /tmp/x"));
        commands.exit(commands.lastPid(), ExitStatus.exited(0));
        time.advance(Duration.ofMinutes(10));
        assertThat(commands.started).hasSize(1 + 1); // 03:02 ran, then it never exited, so the rest were skipped
        assertThat(cron.status().get(0).skipped()).isEqualTo(9);
    }

    @Test
    void aJobStillRunningIsNotStartedTwiceAndTheSkipIsReported() {
        CronScheduler cron = scheduler(ZoneOffset.UTC, Duration.ofHours(1));
        cron.setJobs(List.of(CronJob.parse("* * * * * sleep 150")));
        time.advance(Duration.ofMinutes(3)); // 03:01 starts; 03:02 and 03:03 find it running
        assertThat(commands.started).hasSize(1);
        assertThat(events.events).hasSize(2).allMatch(e -> e.contains("skipped") && e.contains("still going"));
        commands.exit(commands.lastPid(), ExitStatus.exited(0));
        time.advance(Duration.ofMinutes(1));
        assertThat(commands.started).hasSize(2);
        assertThat(cron.status().get(0).runs()).isEqualTo(2);
    }

    @Test
    void aRunOverItsTimeLimitGetsSigtermThenSigkillToItsGroupOnly() {
        CronScheduler cron = scheduler(ZoneOffset.UTC, Duration.ofSeconds(20));
        cron.setJobs(List.of(CronJob.parse("@hourly sleep 100000"), CronJob.parse("@daily true")));
        time.advance(Duration.ofSeconds(3570)); // 04:00:00 starts the hourly job
        int pid = commands.lastPid();
        time.advance(Duration.ofSeconds(19));
        assertThat(commands.signals).isEmpty();
        time.advance(Duration.ofSeconds(1));
        assertThat(commands.signals).containsExactly(pid + ":15");
        time.advance(Duration.ofSeconds(5));
        assertThat(commands.signals).containsExactly(pid + ":15", pid + ":9");
        assertThat(events.events).anyMatch(e -> e.contains("ran longer than PT20S"))
                .anyMatch(e -> e.contains("SIGKILL"));
        commands.exit(pid, ExitStatus.killed(9));
        assertThat(cron.status().get(0).lastResult()).isEqualTo("killed by signal 9");
        assertThat(cron.status().get(0).pid()).isZero();
    }

    @Test
    void aRunThatEndsInTimeIsNeverSignalled() {
        CronScheduler cron = scheduler(ZoneOffset.UTC, Duration.ofSeconds(20));
        cron.setJobs(List.of(CronJob.parse("@hourly true")));
        time.advance(Duration.ofSeconds(3570));
        commands.exit(commands.lastPid(), ExitStatus.exited(3));
        time.advance(Duration.ofSeconds(30));
        assertThat(commands.signals).isEmpty();
        assertThat(events.events).containsExactly("cron: '@hourly true' ended: exit code 3");
    }

    @Test
    void aJobThatCannotStartIsReportedAndTriedAgainAtItsNextTime() {
        CronScheduler cron = scheduler(ZoneOffset.UTC, Duration.ofHours(1));
        cron.setJobs(List.of(CronJob.parse("*/5 * * * * nosuch")));
        commands.failNext = new IllegalStateException("exec: nosuch: No such file or directory");
        time.advance(Duration.ofMinutes(5));
        assertThat(cron.status().get(0).lastResult()).contains("No such file");
        assertThat(events.events).anyMatch(e -> e.contains("could not start"));
        time.advance(Duration.ofMinutes(5));
        assertThat(commands.started).hasSize(1);
    }

    @Test
    void missedSlotsAreNotCaughtUpAfterTheHostSlept() {
        CronScheduler cron = scheduler(ZoneOffset.UTC, Duration.ofHours(1));
        cron.setJobs(List.of(CronJob.parse("* * * * * true")));
        time.jump(Duration.ofHours(5)); // suspended: the 03:01 timer fires five hours late
        time.advance(Duration.ofSeconds(1)); // 08:00:31: one run for the 03:01 slot, none for the 300 others
        assertThat(commands.started).hasSize(1);
        commands.exit(commands.lastPid(), ExitStatus.exited(0));
        assertThat(cron.status().get(0).nextRun()).isEqualTo("2024-05-10T08:01:00Z");
    }

    @Test
    void schedulesFollowTheConfiguredZoneThroughDaylightSaving() {
        ZoneId berlin = ZoneId.of("Europe/Berlin");
        time.jump(Duration.between(START, ZonedDateTime.of(2024, 3, 30, 12, 0, 0, 0, berlin).toInstant()));
        CronScheduler cron = scheduler(berlin, Duration.ofHours(1));
        cron.setJobs(List.of(CronJob.parse("30 2 * * * backup")));
        time.advance(Duration.ofHours(14)); // 02:30 does not exist on the 31st: runs once at 03:00 CEST
        assertThat(commands.started).hasSize(1);
        assertThat(time.instant()).isAfterOrEqualTo(Instant.parse("2024-03-31T01:00:00Z"));
        commands.exit(commands.lastPid(), ExitStatus.exited(0));
        time.advance(Duration.ofHours(23));
        assertThat(commands.started).hasSize(1);
        time.advance(Duration.ofHours(1));
        assertThat(commands.started).hasSize(2); // 2024-04-01T02:30+02:00
    }

    @Test
    void changingTheLinesKeepsUnchangedJobsAndDropsRemovedOnes() {
        CronScheduler cron = scheduler(ZoneOffset.UTC, Duration.ofHours(1));
        CronJob keep = CronJob.parse("* * * * * sleep 1000");
        cron.setJobs(List.of(keep, CronJob.parse("*/2 * * * * gone")));
        time.advance(Duration.ofMinutes(1)); // 03:01: keep starts
        int running = commands.lastPid();
        cron.setJobs(List.of(keep, CronJob.parse("@hourly fresh")));
        assertThat(cron.status()).extracting(CronJobStatus::line).containsExactly(keep.line(), "@hourly fresh");
        assertThat(cron.status().get(0).pid()).as("the running instance is still tracked").isEqualTo(running);
        time.advance(Duration.ofMinutes(59)); // to 04:00
        assertThat(commands.started).extracting(argv -> argv.get(2)).containsExactly("sleep 1000", "fresh");
    }

    @Test
    void stoppingCancelsEveryTimer() {
        CronScheduler cron = scheduler(ZoneOffset.UTC, Duration.ofHours(1));
        cron.setJobs(List.of(CronJob.parse("* * * * * true")));
        cron.stop();
        time.advance(Duration.ofHours(2));
        assertThat(commands.started).isEmpty();
        assertThat(time.pendingTasks()).isZero();
        assertThat(cron.status().get(0).nextRun()).isNull();
    }
}
