package dev.emperor.jail.cgroup;

import static dev.emperor.jail.cgroup.FakeCgroupFs.content;
import static dev.emperor.jail.cgroup.FakeCgroupFs.dir;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.emperor.jail.JailException;
import dev.emperor.jail.Limits;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The v1 driver against a temporary directory laid out like four v1 hierarchies. */
class CgroupV1DriverTest {
    static final String UNLIMITED = "9223372036854771712\n";

    @TempDir
    Path root;
    Path memory;
    Path cpu;
    Path cpuacct;
    Path pids;
    CgroupV1Driver driver;

    @BeforeEach
    void layOutHierarchies() {
        memory = dir(root.resolve("memory/emperor/alice"),
                "cgroup.procs", "",
                "memory.limit_in_bytes", UNLIMITED,
                "memory.memsw.limit_in_bytes", UNLIMITED,
                "memory.swappiness", "60\n",
                "memory.usage_in_bytes", "0\n",
                "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
        cpu = dir(root.resolve("cpu/emperor/alice"),
                "cgroup.procs", "",
                "cpu.cfs_period_us", "100000\n",
                "cpu.cfs_quota_us", "-1\n");
        cpuacct = dir(root.resolve("cpuacct/emperor/alice"),
                "cgroup.procs", "",
                "cpuacct.usage", "0\n");
        pids = dir(root.resolve("pids/emperor/alice"),
                "cgroup.procs", "",
                "pids.max", "max\n");
        driver = new CgroupV1Driver(root.resolve("memory"), root.resolve("cpu"),
                root.resolve("cpuacct"), root.resolve("pids"), "emperor");
    }

    @Test
    void limitsAreWrittenToEachHierarchy() {
        driver.create("alice", new Limits(64L << 20, 50, 100));

        assertThat(content(memory.resolve("memory.limit_in_bytes"))).isEqualTo("67108864");
        assertThat(content(cpu.resolve("cpu.cfs_period_us"))).isEqualTo("100000");
        assertThat(content(cpu.resolve("cpu.cfs_quota_us"))).isEqualTo("50000");
        assertThat(content(pids.resolve("pids.max"))).isEqualTo("100");
    }

    @Test
    void withSwapAccountingMemswGetsTheMemoryLimitSoNoSwapIsUsed() {
        driver.create("alice", new Limits(64L << 20, 0, 0));

        assertThat(content(memory.resolve("memory.memsw.limit_in_bytes"))).isEqualTo("67108864");
        assertThat(content(memory.resolve("memory.swappiness"))).isEqualTo("60\n");
    }

    @Test
    void withoutSwapAccountingSwappinessIsSetToZero() throws Exception {
        Files.delete(memory.resolve("memory.memsw.limit_in_bytes"));

        driver.create("alice", new Limits(64L << 20, 0, 0));

        assertThat(content(memory.resolve("memory.limit_in_bytes"))).isEqualTo("67108864");
        assertThat(content(memory.resolve("memory.swappiness"))).isEqualTo("0");
        assertThat(memory.resolve("memory.memsw.limit_in_bytes")).doesNotExist();
    }

    @Test
    void noLimitsAreWrittenAsMinusOneAndMax() {
        driver.create("alice", Limits.NONE);

        assertThat(content(memory.resolve("memory.limit_in_bytes"))).isEqualTo("-1");
        assertThat(content(memory.resolve("memory.memsw.limit_in_bytes"))).isEqualTo("-1");
        assertThat(content(cpu.resolve("cpu.cfs_quota_us"))).isEqualTo("-1");
        assertThat(content(pids.resolve("pids.max"))).isEqualTo("max");
    }

    @Test
    void cpuQuotaAboveOneCoreIsAMultipleOfThePeriod() {
        driver.create("alice", new Limits(0, 250, 0));

        assertThat(content(cpu.resolve("cpu.cfs_quota_us"))).isEqualTo("250000");
    }

    @Test
    void statsAreReadFromEachHierarchy() throws Exception {
        Files.writeString(memory.resolve("memory.usage_in_bytes"), "12345\n");
        Files.writeString(cpuacct.resolve("cpuacct.usage"), "987654321\n");
        Files.writeString(memory.resolve("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
        Files.writeString(pids.resolve("cgroup.procs"), "10\n11\n");

        CgroupStats stats = driver.open("alice").orElseThrow().stats();

        assertThat(stats).isEqualTo(new CgroupStats(12345, 987654321, 3, 2));
    }

    @Test
    void oomKillsAreZeroOnKernelsThatDoNotCountThem() throws Exception {
        Files.writeString(memory.resolve("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\n");

        assertThat(driver.open("alice").orElseThrow().stats().oomKills()).isZero();
    }

    @Test
    void pidsAreTheUnionOfAllHierarchies() throws Exception {
        Files.writeString(memory.resolve("cgroup.procs"), "10\n12\n");
        Files.writeString(pids.resolve("cgroup.procs"), "10\n11\n");

        assertThat(driver.open("alice").orElseThrow().pids()).containsExactly(10, 11, 12);
    }

    @Test
    void procsFilesNameCgroupProcsInEveryHierarchy() {
        assertThat(driver.open("alice").orElseThrow().procsFiles()).containsExactly(
                memory.resolve("cgroup.procs"), cpu.resolve("cgroup.procs"),
                cpuacct.resolve("cgroup.procs"), pids.resolve("cgroup.procs"));
    }

    @Test
    void coMountedCpuAndCpuacctShareOneDirectory() throws Exception {
        Path cpuBoth = dir(root.resolve("cpu,cpuacct/emperor/alice"), "cgroup.procs", "",
                "cpu.cfs_period_us", "100000\n", "cpu.cfs_quota_us", "-1\n", "cpuacct.usage", "42\n");
        CgroupV1Driver coMounted = new CgroupV1Driver(root.resolve("memory"), root.resolve("cpu,cpuacct"),
                root.resolve("cpu,cpuacct"), root.resolve("pids"), "emperor");

        TenantCgroup alice = coMounted.create("alice", new Limits(0, 30, 0));

        assertThat(alice.procsFiles()).containsExactly(memory.resolve("cgroup.procs"),
                cpuBoth.resolve("cgroup.procs"), pids.resolve("cgroup.procs"));
        assertThat(content(cpuBoth.resolve("cpu.cfs_quota_us"))).isEqualTo("30000");
        assertThat(alice.stats().cpuUsageNanos()).isEqualTo(42);
    }

    @Test
    void openFindsOnlyExistingTenants() {
        assertThat(driver.open("alice")).get().extracting(TenantCgroup::tenant).isEqualTo("alice");
        assertThat(driver.open("bob")).isEmpty();
    }

    @Test
    void aFailedCreateNamesTheFileAndRemovesTheDirectoriesItMade() {
        // bob's directories are created empty: no control files, as if a controller were missing
        assertThatThrownBy(() -> driver.create("bob", new Limits(1 << 20, 0, 0)))
                .isInstanceOf(JailException.class)
                .hasMessage("cgroup " + root.resolve("memory/emperor/bob/memory.limit_in_bytes")
                        + ": 1048576: No such file or directory");

        for (String hierarchy : new String[] {"memory", "cpu", "cpuacct", "pids"}) {
            assertThat(root.resolve(hierarchy).resolve("emperor/bob")).doesNotExist();
            assertThat(root.resolve(hierarchy).resolve("emperor/alice")).isDirectory();
        }
    }

    @Test
    void namesThatCouldLeaveTheSubtreeAreRejected() {
        for (String bad : new String[] {"..", ".", "../etc", "a/b", "", ".hidden", "-x"}) {
            assertThatThrownBy(() -> driver.create(bad, Limits.NONE))
                    .as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> new CgroupV1Driver(memory, cpu, cpuacct, pids, "../x"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void negativeLimitsAreRejected() {
        assertThatThrownBy(() -> driver.create("alice", new Limits(-1, 0, 0)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
