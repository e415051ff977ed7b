package dev.emperor.supervisor.services;

import dev.emperor.jail.ExitStatus;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/** Records what would have entered the tenant; the test decides when each command exits. */
final class FakeCommands implements TenantCommands {
    final List<List<String>> started = new ArrayList<>();
    final List<String> signals = new ArrayList<>();
    final Map<Integer, Consumer<ExitStatus>> running = new HashMap<>();
    final Map<Integer, Long> adoptable = new HashMap<>();
    RuntimeException failNext;
    private int nextPid = 100;

    @Override
    public Running start(List<String> argv, Consumer<ExitStatus> onExit) {
        if (failNext != null) {
            RuntimeException e = failNext;
            failNext = null;
            throw e;
        }
        started.add(argv);
        int pid = nextPid++;
        running.put(pid, onExit);
        return running(pid, 1000L + pid);
    }

    @Override
    public Optional<Running> adopt(int pid, long startTime, Consumer<ExitStatus> onExit) {
        if (!Long.valueOf(startTime).equals(adoptable.get(pid))) return Optional.empty();
        running.put(pid, onExit);
        return Optional.of(running(pid, startTime));
    }

    private Running running(int pid, long startTime) {
        return new Running() {
            @Override
            public int pid() {
                return pid;
            }

            @Override
            public long startTime() {
                return startTime;
            }

            @Override
            public void signal(int sig) {
                if (running.containsKey(pid)) signals.add(pid + ":" + sig);
            }
        };
    }

    /** The command with this pid ends now. */
    void exit(int pid, ExitStatus status) {
        Consumer<ExitStatus> onExit = running.remove(pid);
        if (onExit == null) throw new AssertionError("pid " + pid + " is not running");
        onExit.accept(status);
    }

    int lastPid() {
        return nextPid - 1;
    }
}
