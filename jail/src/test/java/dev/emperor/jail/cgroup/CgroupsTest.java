package dev.emperor.jail.cgroup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.emperor.jail.JailException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Choosing the driver from /proc/self/mountinfo lines. */
class CgroupsTest {
    @TempDir
    Path tmp;

    static String cgroupV1(int id, Path mountPoint, String options) {
        return id + " 31 0:" + id + " / " + mountPoint.toString().replace(" ", "\\040")
                + " rw,nosuid,nodev,noexec,relatime shared:" + id + " - cgroup cgroup rw," + options;
    }

    @Test
    void cgroup2AtSysFsCgroupMeansV2() {
        List<String> mountInfo = List.of(
                "22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw",
                "25 22 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot");

        CgroupDriver driver = Cgroups.fromMountInfo(mountInfo, "emperor", Path.of("/sys/fs/cgroup"));

        assertThat(driver.version()).isEqualTo("v2");
    }

    @Test
    void separateV1HierarchiesAreFoundWhereverTheyAreMounted() throws Exception {
        Path base = tmp.resolve("odd place");
        List<String> mountInfo = List.of(
                "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
                cgroupV1(32, base.resolve("c1"), "cpu"),
                cgroupV1(33, base.resolve("c2"), "cpuacct"),
                cgroupV1(34, base.resolve("c3"), "cpuset"),
                cgroupV1(35, base.resolve("m"), "memory"),
                cgroupV1(39, base.resolve("p"), "pids"),
                "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw");
        for (String hierarchy : new String[] {"c1", "c2", "m", "p"}) {
            Files.createDirectories(base.resolve(hierarchy).resolve("emperor/alice"));
        }

        CgroupDriver driver = Cgroups.fromMountInfo(mountInfo, "emperor", Path.of("/sys/fs/cgroup"));

        assertThat(driver.version()).isEqualTo("v1");
        assertThat(driver.open("alice").orElseThrow().procsFiles()).containsExactly(
                base.resolve("m/emperor/alice/cgroup.procs"), base.resolve("c1/emperor/alice/cgroup.procs"),
                base.resolve("c2/emperor/alice/cgroup.procs"), base.resolve("p/emperor/alice/cgroup.procs"));
    }

    @Test
    void coMountedCpuCpuacctIsOneHierarchy() throws Exception {
        List<String> mountInfo = List.of(
                cgroupV1(32, tmp.resolve("cpu,cpuacct"), "cpu,cpuacct"),
                cgroupV1(35, tmp.resolve("memory"), "memory"),
                cgroupV1(39, tmp.resolve("pids"), "pids"));
        for (String hierarchy : new String[] {"cpu,cpuacct", "memory", "pids"}) {
            Files.createDirectories(tmp.resolve(hierarchy).resolve("emperor/alice"));
        }

        CgroupDriver driver = Cgroups.fromMountInfo(mountInfo, "emperor", Path.of("/sys/fs/cgroup"));

        assertThat(driver.open("alice").orElseThrow().procsFiles()).containsExactly(
                tmp.resolve("memory/emperor/alice/cgroup.procs"),
                tmp.resolve("cpu,cpuacct/emperor/alice/cgroup.procs"),
                tmp.resolve("pids/emperor/alice/cgroup.procs"));
    }

    @Test
    void aMissingV1ControllerIsNamed() {
        List<String> mountInfo = List.of(
                cgroupV1(32, tmp.resolve("cpu"), "cpu,cpuacct"),
                cgroupV1(35, tmp.resolve("memory"), "memory"));

        assertThatThrownBy(() -> Cgroups.fromMountInfo(mountInfo, "emperor", Path.of("/sys/fs/cgroup")))
                .isInstanceOf(JailException.class)
                .hasMessageContaining("pids controller");
    }

    @Test
    void thisHostIsDetected() {
        CgroupDriver driver = Cgroups.detect("emperor-test-detect");

        assertThat(driver.version()).isIn("v1", "v2");
        assertThat(driver.open("nobody")).isEmpty();
    }
}
