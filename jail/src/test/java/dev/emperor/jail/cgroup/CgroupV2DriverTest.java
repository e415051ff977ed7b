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

/**
 * The v2 driver against a temporary directory laid out like a delegated cgroup2 parent, the
 * emperor subtree and one tenant (the kernel would populate the last two on mkdir).
 */
class CgroupV2DriverTest {
    @TempDir
    Path tmp;
    Path parent;
    Path subtree;
    Path alice;
    CgroupV2Driver driver;

    @BeforeEach
    void layOutTree() {
        parent = dir(tmp.resolve("system.slice/emperor.service"),
                "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n",
                "cgroup.subtree_control", "memory\n");
        subtree = dir(parent.resolve("emperor"),
                "cgroup.controllers", "cpu memory pids\n",
                "cgroup.subtree_control", "\n");
        alice = dir(subtree.resolve("alice"),
                "cgroup.procs", "",
                "cgroup.kill", "",
                "memory.max", "max\n",
                "memory.swap.max", "max\n",
                "cpu.max", "max 100000\n",
                "pids.max", "max\n",
                "memory.current", "0\n",
                "cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\n",
                "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
        driver = new CgroupV2Driver(parent, "emperor");
    }

    @Test
    void controllersAreEnabledInTheParentAndTheSubtreeOnlyWhereMissing() {
        driver.create("alice", Limits.NONE);

        assertThat(content(parent.resolve("cgroup.subtree_control"))).isEqualTo("+cpu +pids");
        assertThat(content(subtree.resolve("cgroup.subtree_control"))).isEqualTo("+memory +cpu +pids");
    }

    @Test
    void nothingIsWrittenWhenTheControllersAreAlreadyEnabled() throws Exception {
        Files.writeString(parent.resolve("cgroup.subtree_control"), "cpu memory pids\n");
        Files.writeString(subtree.resolve("cgroup.subtree_control"), "cpu io memory pids\n");

        driver.create("alice", Limits.NONE);

        assertThat(content(parent.resolve("cgroup.subtree_control"))).isEqualTo("cpu memory pids\n");
        assertThat(content(subtree.resolve("cgroup.subtree_control"))).isEqualTo("cpu io memory pids\n");
    }

    @Test
    void controllersTheParentDoesNotHaveAreNotRequested() throws Exception {
        Files.writeString(parent.resolve("cgroup.controllers"), "cpu pids\n");
        Files.writeString(parent.resolve("cgroup.subtree_control"), "");

        driver.create("alice", Limits.NONE);

        assertThat(content(parent.resolve("cgroup.subtree_control"))).isEqualTo("+cpu +pids");
    }

    @Test
    void limitsAreWrittenInV2Syntax() {
        driver.create("alice", new Limits(64L << 20, 150, 64));

        assertThat(content(alice.resolve("memory.max"))).isEqualTo("67108864");
        assertThat(content(alice.resolve("memory.swap.max"))).isEqualTo("0");
        assertThat(content(alice.resolve("cpu.max"))).isEqualTo("150000 100000");
        assertThat(content(alice.resolve("pids.max"))).isEqualTo("64");
    }

    @Test
    void noLimitsAreWrittenAsMax() {
        driver.create("alice", new Limits(64L << 20, 150, 64));
        driver.open("alice").orElseThrow().update(Limits.NONE);

        assertThat(content(alice.resolve("memory.max"))).isEqualTo("max");
        assertThat(content(alice.resolve("memory.swap.max"))).isEqualTo("max");
        assertThat(content(alice.resolve("cpu.max"))).isEqualTo("max 100000");
        assertThat(content(alice.resolve("pids.max"))).isEqualTo("max");
    }

    @Test
    void withoutSwapAccountingThereIsNoSwapLimitToSet() throws Exception {
        Files.delete(alice.resolve("memory.swap.max"));

        driver.create("alice", new Limits(64L << 20, 0, 0));

        assertThat(content(alice.resolve("memory.max"))).isEqualTo("67108864");
        assertThat(alice.resolve("memory.swap.max")).doesNotExist();
    }

    @Test
    void statsAreParsedFromTheV2Files() throws Exception {
        Files.writeString(alice.resolve("memory.current"), "4096\n");
        Files.writeString(alice.resolve("cpu.stat"), "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
        Files.writeString(alice.resolve("memory.events"),
                "low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\noom_group_kill 5\n");
        Files.writeString(alice.resolve("cgroup.procs"), "5\n6\n7\n");

        TenantCgroup cgroup = driver.open("alice").orElseThrow();

        assertThat(cgroup.stats()).isEqualTo(new CgroupStats(4096, 1_500_000, 1, 3));
        assertThat(cgroup.pids()).containsExactly(5, 6, 7);
    }

    @Test
    void theTenantHasOneProcsFile() {
        assertThat(driver.open("alice").orElseThrow().procsFiles())
                .containsExactly(alice.resolve("cgroup.procs"));
    }

    @Test
    void aFailedCreateNamesTheFileAndRemovesTheDirectoryItMade() {
        assertThatThrownBy(() -> driver.create("bob", new Limits(0, 0, 10)))
                .isInstanceOf(JailException.class)
                .hasMessage("cgroup " + subtree.resolve("bob/memory.max") + ": max: No such file or directory");

        assertThat(subtree.resolve("bob")).doesNotExist();
        assertThat(alice).isDirectory();
    }

    @Test
    void openFindsOnlyExistingTenants() {
        assertThat(driver.open("alice")).isPresent();
        assertThat(driver.open("bob")).isEmpty();
    }
}
