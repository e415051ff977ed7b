package dev.emperor.jail.cgroup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.emperor.jail.JailException;
import dev.emperor.jail.Limits;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The driver this host detects, against the real kernel (needs root), under a subtree of the
 * test's own, {@code emperor-test-<random>}, removed afterwards whatever happens. On a v1
 * host with a controller-less cgroup2 mount (hybrid), the v2 driver's kill and removal are
 * also exercised there.
 */
class CgroupKernelTest {
    static final long MIB = 1 << 20;

    final String subtree = "emperor-test-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
    final CgroupDriver driver = Cgroups.detect(subtree);
    final List<Process> processes = new ArrayList<>();
    /** Every directory the test may have caused to exist, children before parents. */
    final Set<Path> created = new LinkedHashSet<>();

    @AfterEach
    void cleanUp() throws InterruptedException {
        for (Process process : processes) {
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
        }
        List<Path> dirs = new ArrayList<>(created);
        dirs.sort((a, b) -> b.getNameCount() - a.getNameCount());
        for (Path dir : dirs) {
            try {
                Files.deleteIfExists(dir); // rmdir: cgroupfs control files do not count
            } catch (IOException e) {
                System.err.println("cleanup: cannot remove " + dir + ": " + e);
            }
        }
    }

    TenantCgroup create(String tenant, Limits limits) {
        TenantCgroup cgroup = driver.create(tenant, limits);
        remember(cgroup);
        return cgroup;
    }

    void remember(TenantCgroup cgroup) {
        for (Path procs : cgroup.procsFiles()) {
            created.add(procs.getParent());
            created.add(procs.getParent().getParent());
        }
    }

    /** The tenant's kernel file called name, in whichever hierarchy has it. */
    static Path kernelFile(TenantCgroup cgroup, String name) {
        return cgroup.procsFiles().stream().map(p -> p.getParent().resolve(name))
                .filter(Files::exists).findFirst()
                .orElseThrow(() -> new AssertionError("no " + name + " for " + cgroup.tenant()));
    }

    static String read(TenantCgroup cgroup, String name) throws IOException {
        return Files.readString(kernelFile(cgroup, name)).strip();
    }

    /** Starts sh running script; the script should wait for a line on stdin first. */
    Process start(String script) throws IOException {
        Process process = new ProcessBuilder("sh", "-c", script).redirectErrorStream(true).start();
        processes.add(process);
        return process;
    }

    /** Test code moving a process in; Emperor itself only lets the helper move itself. */
    static void moveInto(TenantCgroup cgroup, long pid) throws IOException {
        for (Path procs : cgroup.procsFiles()) {
            Files.writeString(procs, Long.toString(pid), StandardOpenOption.WRITE);
        }
    }

    static String go(Process process) throws IOException {
        OutputStream in = process.getOutputStream();
        in.write("go\n".getBytes(StandardCharsets.US_ASCII));
        in.flush();
        return new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.US_ASCII))
                .readLine();
    }

    @Test
    void limitsReachTheKernelAndCanBeLoweredRaisedAndLifted() throws IOException {
        TenantCgroup cgroup = create("limits", new Limits(64 * MIB, 50, 100));

        if (driver.version().equals("v1")) {
            assertThat(read(cgroup, "memory.limit_in_bytes")).isEqualTo(Long.toString(64 * MIB));
            assertThat(read(cgroup, "cpu.cfs_period_us")).isEqualTo("100000");
            assertThat(read(cgroup, "cpu.cfs_quota_us")).isEqualTo("50000");
            assertThat(read(cgroup, "pids.max")).isEqualTo("100");
            // Lowering and raising both must respect limit <= memsw.limit on the way.
            for (long limit : new long[] {32 * MIB, 128 * MIB}) {
                cgroup.update(new Limits(limit, 50, 100));
                assertThat(read(cgroup, "memory.limit_in_bytes")).isEqualTo(Long.toString(limit));
                if (Files.exists(kernelFile(cgroup, "memory.limit_in_bytes").resolveSibling("memory.memsw.limit_in_bytes"))) {
                    assertThat(read(cgroup, "memory.memsw.limit_in_bytes")).isEqualTo(Long.toString(limit));
                }
            }
            cgroup.update(Limits.NONE);
            assertThat(Long.parseLong(read(cgroup, "memory.limit_in_bytes"))).isGreaterThan(1L << 62);
            assertThat(read(cgroup, "cpu.cfs_quota_us")).isEqualTo("-1");
            assertThat(read(cgroup, "pids.max")).isEqualTo("max");
        } else {
            assertThat(read(cgroup, "memory.max")).isEqualTo(Long.toString(64 * MIB));
            assertThat(read(cgroup, "cpu.max")).isEqualTo("50000 100000");
            assertThat(read(cgroup, "pids.max")).isEqualTo("100");
            cgroup.update(Limits.NONE);
            assertThat(read(cgroup, "memory.max")).isEqualTo("max");
            assertThat(read(cgroup, "cpu.max")).isEqualTo("max 100000");
            assertThat(read(cgroup, "pids.max")).isEqualTo("max");
        }
    }

    @Test
    void createIsIdempotentAndAppliesTheNewLimits() throws IOException {
        TenantCgroup first = create("again", new Limits(0, 0, 10));
        TenantCgroup second = create("again", new Limits(0, 0, 20));

        assertThat(second.procsFiles()).isEqualTo(first.procsFiles());
        assertThat(read(second, "pids.max")).isEqualTo("20");
    }

    @Test
    void aProcessMovedInIsSeenCountedKilledAndTheCgroupRemoved() throws Exception {
        TenantCgroup cgroup = create("life", new Limits(256 * MIB, 0, 64));
        Process process = start("read go; head -c 2000000 /dev/zero | md5sum; exec sleep 60");
        moveInto(cgroup, process.pid());

        assertThat(go(process)).startsWith("6bde2aa6"); // md5 of 2,000,000 zero bytes, computed inside
        // head and md5sum may still be exiting when md5sum's output arrives: wait (bounded) for them.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (cgroup.pids().size() > 1 && System.nanoTime() < deadline) Thread.sleep(10);

        assertThat(cgroup.pids()).containsExactly((int) process.pid());
        CgroupStats stats = cgroup.stats();
        assertThat(stats.tasks()).isEqualTo(1);
        assertThat(stats.cpuUsageNanos()).isPositive();
        assertThat(stats.memoryBytes()).isPositive();
        assertThat(stats.oomKills()).isZero();

        cgroup.killAll();

        assertThat(process.waitFor(5, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).isEqualTo(128 + 9);
        assertThat(cgroup.pids()).isEmpty();

        cgroup.remove();

        for (Path procs : cgroup.procsFiles()) {
            assertThat(procs.getParent()).doesNotExist();             // the tenant, in every hierarchy
            assertThat(procs.getParent().getParent()).doesNotExist(); // and the now empty subtree
        }
        assertThat(driver.open("life")).isEmpty();
    }

    @Test
    void killAllAlsoKillsChildrenTheTenantForked() throws Exception {
        TenantCgroup cgroup = create("family", Limits.NONE);
        Process process = start("read go; sleep 60 & sleep 60 & echo started; wait");
        moveInto(cgroup, process.pid());
        assertThat(go(process)).isEqualTo("started");
        assertThat(cgroup.pids()).hasSize(3).contains((int) process.pid());

        cgroup.killAll();

        assertThat(cgroup.pids()).isEmpty();
        assertThat(process.waitFor(5, TimeUnit.SECONDS)).isTrue();
        cgroup.remove();
        assertThat(driver.open("family")).isEmpty();
    }

    /**
     * A tenant forking as fast as it can (up to its pids bound) is killed in one call. On v1
     * with a freezer hierarchy the cgroup is frozen for the kill and must be thawed after,
     * or a later spawn into the same cgroup would start frozen.
     */
    @Test
    void aForkStormIsKilledAndAFrozenCgroupIsThawedAfter() throws Exception {
        TenantCgroup cgroup = create("storm", new Limits(0, 0, 64));
        Process process = start("read go; echo started; while :; do /bin/sleep 60 & done");
        moveInto(cgroup, process.pid());
        assertThat(go(process)).isEqualTo("started");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (cgroup.pids().size() < 32 && System.nanoTime() < deadline) Thread.sleep(20);
        assertThat(cgroup.pids().size()).as("the storm reached 32 processes").isGreaterThanOrEqualTo(32);

        cgroup.killAll();

        assertThat(cgroup.pids()).isEmpty();
        boolean freezer = cgroup.procsFiles().stream().anyMatch(p -> Files.exists(p.getParent().resolve("freezer.state")));
        if (driver.version().equals("v1") && Files.isDirectory(Path.of("/sys/fs/cgroup/freezer"))) {
            assertThat(freezer).as("the tenant has a freezer cgroup").isTrue();
        }
        if (freezer) assertThat(read(cgroup, "freezer.state")).isEqualTo("THAWED");
        cgroup.remove();
        assertThat(driver.open("storm")).isEmpty();
    }

    @Test
    void aSessionCgroupKillsWhatLeftTheSessionAndLeavesTheTenantAlone() throws Exception {
        TenantCgroup cgroup = create("host", Limits.NONE);
        Process tenant = start("read go; echo started; exec sleep 60");
        moveInto(cgroup, tenant.pid());
        assertThat(go(tenant)).isEqualTo("started");
        SessionCgroup session = cgroup.newSession("shell-test");
        session.procsFiles().forEach(p -> created.add(p.getParent()));
        // A session process that leaves its session and process group (setsid, double fork).
        Process shell = start("read go; setsid sh -c 'sleep 60 & exit' ; echo started; exec sleep 60");
        for (Path procs : session.procsFiles()) Files.writeString(procs, Long.toString(shell.pid()), StandardOpenOption.WRITE);
        assertThat(go(shell)).isEqualTo("started");
        assertThat(session.pids()).hasSize(2).contains((int) shell.pid());
        assertThat(cgroup.pids()).containsExactly((int) tenant.pid());

        session.close();

        assertThat(shell.waitFor(5, TimeUnit.SECONDS)).isTrue();
        assertThat(session.procsFiles()).allMatch(p -> !Files.exists(p.getParent()));
        assertThat(tenant.isAlive()).isTrue();
        // a session left behind (an emperor that died mid-session) does not block the tenant's removal
        cgroup.newSession("shell-left").procsFiles().forEach(p -> created.add(p.getParent()));
        cgroup.killAll();
        cgroup.remove();
        assertThat(driver.open("host")).isEmpty();
    }

    @Test
    void theSubtreeStaysWhileAnotherTenantExists() {
        TenantCgroup a = create("a", Limits.NONE);
        TenantCgroup b = create("b", Limits.NONE);

        a.remove();

        for (Path procs : a.procsFiles()) {
            assertThat(procs.getParent()).doesNotExist();
            assertThat(procs.getParent().getParent()).isDirectory();
        }
        assertThat(driver.open("b")).isPresent();

        b.remove();

        for (Path procs : b.procsFiles()) {
            assertThat(procs.getParent().getParent()).doesNotExist();
        }
    }

    @Test
    void removingATenantThatStillHasAProcessFailsAndNamesTheDirectory() throws Exception {
        TenantCgroup cgroup = create("stuck", Limits.NONE);
        Process process = start("read go; echo in; exec sleep 60");
        moveInto(cgroup, process.pid());
        assertThat(go(process)).isEqualTo("in");

        assertThatThrownBy(cgroup::remove)
                .isInstanceOf(JailException.class)
                .hasMessageStartingWith("cgroup rmdir " + cgroup.procsFiles().get(0).getParent() + ": ")
                .hasMessageContaining("processes or child cgroups left after 2 s");

        cgroup.killAll();
        cgroup.remove();
        assertThat(driver.open("stuck")).isEmpty();
    }

    /** A cgroup2 mount that is not the host's main hierarchy: the hybrid layout's "unified". */
    static Optional<Path> hybridCgroup2Mount() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] fields = line.split(" ");
            int dash = List.of(fields).indexOf("-");
            if (dash > 0 && fields[dash + 1].equals("cgroup2") && !fields[4].equals("/sys/fs/cgroup")) {
                return Optional.of(Path.of(fields[4]));
            }
        }
        return Optional.empty();
    }

    @Test
    void v2DriverKillsWithCgroupKillAndRemovesOnARealCgroup2Mount() throws Exception {
        Optional<Path> unified = hybridCgroup2Mount();
        assumeThat(unified).as("a hybrid cgroup2 mount").isPresent();
        Path tenantDir = unified.get().resolve(subtree).resolve("v2");
        created.add(tenantDir);
        created.add(tenantDir.getParent());
        // Without memory/cpu/pids on this mount create() must fail, name the file, leave nothing.
        CgroupV2Driver v2 = new CgroupV2Driver(unified.get(), subtree);
        assertThatThrownBy(() -> v2.create("v2", new Limits(64 * MIB, 0, 0)))
                .isInstanceOf(JailException.class)
                .hasMessage("cgroup " + tenantDir.resolve("memory.max") + ": 67108864: No such file or directory");
        assertThat(tenantDir.getParent()).doesNotExist();

        // The directories made by hand, the kill and removal done by the driver.
        Files.createDirectories(tenantDir);
        TenantCgroup cgroup = v2.open("v2").orElseThrow();
        assertThat(tenantDir.resolve("cgroup.kill")).exists();
        Process process = start("read go; echo in; exec sleep 60");
        moveInto(cgroup, process.pid());
        assertThat(go(process)).isEqualTo("in");
        assertThat(cgroup.pids()).containsExactly((int) process.pid());

        cgroup.killAll();

        assertThat(process.waitFor(5, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).isEqualTo(128 + 9);
        cgroup.remove();
        assertThat(tenantDir).doesNotExist();
        assertThat(tenantDir.getParent()).doesNotExist();
    }
}
