package dev.emperor.supervisor.services;

import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.jail.ExitStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DaemonSupervisorTest {
    private final ManualTime time = new ManualTime(Instant.parse("2024-05-10T03:00:00Z"));
    private final FakeCommands commands = new FakeCommands();
    private final RecordingEvents events = new RecordingEvents();
    private final Map<String, DaemonRecords.Process> stored = new LinkedHashMap<>();
    private final DaemonRecords records = new DaemonRecords() {
        @Override
        public void started(String key, int pid, long startTime) {
            stored.put(key, new Process(pid, startTime));
        }

        @Override
        public void ended(String key) {
            stored.remove(key);
        }

        @Override
        public Map<String, Process> recorded() {
            return Map.copyOf(stored);
        }

        @Override
        public void clear() {
            stored.clear();
        }
    };

    private DaemonSupervisor supervisor() {
        return new DaemonSupervisor(time, time, commands, Duration.ofSeconds(30), Duration.ofSeconds(5), records, events);
    }

    private static List<DaemonSpec> daemons(String... lines) {
        return java.util.Arrays.stream(lines).map(DaemonSpec::parse).toList();
    }

    @Test
    void everyDaemonLineStartsAndIsRecorded() {
        DaemonSupervisor d = supervisor();
        d.setDaemons(daemons("redis-server --port 6379", "memcached -p 11211"));
        assertThat(commands.started).containsExactly(List.of("redis-server", "--port", "6379"),
                List.of("memcached", "-p", "11211"));
        assertThat(stored).containsOnlyKeys("redis-server --port 6379", "memcached -p 11211");
        assertThat(d.status()).extracting(DaemonStatus::index).containsExactly(1, 2);
    }

    @Test
    void aDaemonThatExitsAtOnceBacksOffEverLongerAndIsReported() {
        DaemonSupervisor d = supervisor();
        d.setDaemons(daemons("false"));
        for (long expected : new long[] {1, 2, 4, 8, 16, 30, 30}) {
            commands.exit(commands.lastPid(), ExitStatus.exited(1));
            DaemonStatus s = d.status().get(0);
            assertThat(s.pid()).isZero();
            assertThat(s.retryInSeconds()).isEqualTo(expected);
            assertThat(s.lastExit()).isEqualTo("exit code 1");
            int before = commands.started.size();
            time.advance(Duration.ofSeconds(expected).minusMillis(1));
            assertThat(commands.started).hasSize(before);
            time.advance(Duration.ofMillis(1));
            assertThat(commands.started).hasSize(before + 1);
        }
        assertThat(d.status().get(0).restarts()).isEqualTo(7);
        assertThat(events.events).hasSize(7).allMatch(e -> e.startsWith("daemon: 'false' exited (exit code 1)"));
        assertThat(stored).containsOnlyKeys("false");
    }

    @Test
    void aDaemonThatRanTenSecondsRestartsAtOnce() {
        DaemonSupervisor d = supervisor();
        d.setDaemons(daemons("redis-server"));
        time.advance(Duration.ofSeconds(10));
        commands.exit(commands.lastPid(), ExitStatus.killed(9));
        assertThat(commands.started).hasSize(2);
        assertThat(d.status().get(0).pid()).isEqualTo(commands.lastPid());
        assertThat(d.status().get(0).lastExit()).isEqualTo("killed by signal 9");
    }

    @Test
    void stoppingSignalsEveryDaemonAndNoneRestarts() {
        DaemonSupervisor d = supervisor();
        d.setDaemons(daemons("redis-server", "memcached"));
        d.stop();
        assertThat(commands.signals).containsExactly("100:15", "101:15");
        commands.exit(100, ExitStatus.killed(15));
        time.advance(Duration.ofMinutes(5));
        assertThat(commands.started).hasSize(2);
        d.tenantGone();
        assertThat(stored).isEmpty();
    }

    @Test
    void aDaemonThatCannotStartRetriesWithBackOff() {
        DaemonSupervisor d = supervisor();
        commands.failNext = new IllegalStateException("exec: nosuch: No such file or directory");
        d.setDaemons(daemons("nosuch"));
        assertThat(d.status().get(0).lastExit()).contains("No such file");
        assertThat(d.status().get(0).retryInSeconds()).isEqualTo(1);
        time.advance(Duration.ofSeconds(1));
        assertThat(commands.started).containsExactly(List.of("nosuch"));
    }

    @Test
    void changingTheLinesTouchesOnlyWhatChanged() {
        DaemonSupervisor d = supervisor();
        d.setDaemons(daemons("redis-server", "memcached"));
        d.setDaemons(daemons("redis-server", "nginx"));
        assertThat(commands.started).extracting(a -> a.get(0)).containsExactly("redis-server", "memcached", "nginx");
        assertThat(commands.signals).containsExactly("101:15");
        time.advance(Duration.ofSeconds(5));
        assertThat(commands.signals).containsExactly("101:15", "101:9");
        commands.exit(101, ExitStatus.killed(9));
        time.advance(Duration.ofMinutes(1));
        assertThat(commands.started).hasSize(3);
        assertThat(stored).containsOnlyKeys("redis-server", "nginx");
    }

    @Test
    void identicalLinesAreSeparateDaemons() {
        DaemonSupervisor d = supervisor();
        d.setDaemons(daemons("worker", "worker"));
        assertThat(stored).containsOnlyKeys("worker", "worker #2");
    }

    @Test
    void afterAnEmperorRestartRecordedDaemonsAreAdoptedNotStartedTwice() {
        stored.put("redis-server", new DaemonRecords.Process(4242, 77L));
        stored.put("memcached", new DaemonRecords.Process(4343, 88L)); // died while the emperor was down
        stored.put("old-helper", new DaemonRecords.Process(4444, 99L)); // line since removed
        commands.adoptable.put(4242, 77L);
        commands.adoptable.put(4444, 99L);
        DaemonSupervisor d = supervisor();
        d.setDaemons(daemons("redis-server", "memcached"));
        assertThat(commands.started).containsExactly(List.of("memcached"));
        assertThat(d.status().get(0).pid()).isEqualTo(4242);
        assertThat(commands.signals).containsExactly("4444:15");
        assertThat(events.events).anyMatch(e -> e.contains("re-adopted 'redis-server' (pid 4242)"));
        commands.exit(4444, ExitStatus.UNKNOWN);
        assertThat(stored).containsOnlyKeys("redis-server", "memcached");
    }
}
