package dev.emperor.tests.bench;

import dev.emperor.jail.ExitStatus;
import dev.emperor.jail.Jail;
import dev.emperor.jail.JailSettings;
import dev.emperor.jail.JailSpec;
import dev.emperor.jail.Limits;
import dev.emperor.jail.PidfdReaper;
import dev.emperor.jail.Stdio;
import dev.emperor.jail.TenantProcess;
import dev.emperor.jail.cgroup.CgroupDriver;
import dev.emperor.jail.cgroup.Cgroups;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The cost of one jail through the jail API: cgroup (with limits), namespaces, mounts,
 * pid 1 helper, seccomp, exec of /bin/true, its exit reaped through a pidfd. Then the
 * tear-down (cgroup removal). Run by tests/bench/spawn-vs-bwrap, not by `mvn verify`:
 *
 * <pre>java -cp tests/target/test-classes:supervisor/target/emperor-supervisor.jar:supervisor/target/lib/*
 *     dev.emperor.tests.bench.SpawnBenchmark DISTRO_ROOT [ITERATIONS]</pre>
 *
 * Prints medians and one machine-readable line "RESULT spawn_to_exit_us=... cycle_us=...".
 */
public final class SpawnBenchmark {
    private static final int UID = 300_500;

    public static void main(String[] args) throws Exception {
        Path distro = Path.of(args.length > 0 ? args[0] : "/var/cache/emperor-tests/distros/busybox");
        int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        int warmup = Math.max(10, iterations / 10);

        Path root = Files.createTempDirectory(Path.of("/tmp"), "emperor-spawn-bench-");
        String subtree = "emperor-bench-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        CgroupDriver cgroups = Cgroups.detect(subtree);
        Path runDir = owned(root.resolve("run"));
        Path homeDir = owned(root.resolve("home"));
        Jail jail = new Jail(JailSettings.extractingHelper(root.resolve("libexec"), root.resolve("jails"), cgroups));
        String name = "bench";
        JailSpec spec = JailSpec.builder().name(name).hostname(name).distroRoot(distro).runDir(runDir).homeDir(homeDir)
                .homePath("/home/" + name).tmpBytes(16L << 20).uid(UID).gid(UID).argv(List.of("/bin/true"))
                .env(List.of("PATH=/bin:/usr/bin")).cwd("/").limits(new Limits(64L << 20, 100, 64)).build();

        long[] spawnToExit = new long[iterations];
        long[] cycle = new long[iterations];
        int devNull = Jail.openDevNull();
        try (PidfdReaper reaper = new PidfdReaper()) {
            Stdio stdio = new Stdio(devNull, devNull, devNull);
            for (int i = -warmup; i < iterations; i++) {
                long t0 = System.nanoTime();
                CompletableFuture<ExitStatus> exit = new CompletableFuture<>();
                TenantProcess p = jail.spawn(spec, stdio);
                reaper.watch(p, exit::complete);
                ExitStatus status = exit.get(10, TimeUnit.SECONDS);
                long t1 = System.nanoTime();
                p.close();
                jail.destroy(name);
                long t2 = System.nanoTime();
                if (status.code() != 0) throw new IllegalStateException("/bin/true in the jail: " + status.describe());
                if (i >= 0) {
                    spawnToExit[i] = t1 - t0;
                    cycle[i] = t2 - t0;
                }
            }
        } finally {
            Jail.closeFd(devNull);
            jail.destroy(name);
            deleteTree(root);
        }
        long spawnUs = median(spawnToExit) / 1000;
        long cycleUs = median(cycle) / 1000;
        System.out.printf("jail spawn of /bin/true -> exit reaped, median of %d: %d us%n", iterations, spawnUs);
        System.out.printf("  ... plus cgroup removal (full cycle), median: %d us%n", cycleUs);
        System.out.printf("RESULT spawn_to_exit_us=%d cycle_us=%d iterations=%d%n", spawnUs, cycleUs, iterations);
        System.exit(0);
    }

    private static Path owned(Path dir) throws Exception {
        Files.createDirectories(dir);
        Files.setAttribute(dir, "unix:uid", UID, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(dir, "unix:gid", UID, LinkOption.NOFOLLOW_LINKS);
        return dir;
    }

    private static long median(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static void deleteTree(Path top) throws Exception {
        try (var walk = Files.walk(top)) {
            for (Path p : walk.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
