package dev.emperor.jail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.emperor.jail.MountOp.Bind;
import dev.emperor.jail.MountOp.BindRoot;
import dev.emperor.jail.MountOp.Devpts;
import dev.emperor.jail.MountOp.Mask;
import dev.emperor.jail.MountOp.Mkdir;
import dev.emperor.jail.MountOp.MountPointFile;
import dev.emperor.jail.MountOp.Proc;
import dev.emperor.jail.MountOp.ReadOnly;
import dev.emperor.jail.MountOp.Remount;
import dev.emperor.jail.MountOp.Symlink;
import dev.emperor.jail.MountOp.Tmpfs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The plan as data: built and checked without root, mount namespaces or a distro on disk. */
class MountPlanTest {
    private static final Path DISTROS = Path.of("/var/cache/emperor-tests/distros");
    private static final long RO = LibC.MS_RDONLY;
    private static final long NOSUID = LibC.MS_NOSUID;
    private static final long NODEV = LibC.MS_NODEV;
    private static final long NOEXEC = LibC.MS_NOEXEC;

    private static JailSpec spec(Path distro, String homePath, Path optDir, List<BindMount> binds) {
        return JailSpec.builder().name("a").hostname("a").distroRoot(distro).runDir(Path.of("/run/emperor/vassals/a"))
                .homeDir(Path.of("/var/lib/emperor/homes/a")).homePath(homePath).optDir(optDir).tmpBytes(1 << 20)
                .binds(binds).uid(1000).gid(1000).argv(List.of("true")).cwd("/").build();
    }

    private static JailSpec spec(String homePath, List<BindMount> binds) {
        return spec(Path.of("/srv/distro"), homePath, null, binds);
    }

    /** What every tenant's /dev gets, between the root and /run. */
    private static List<MountOp> dev() {
        List<MountOp> ops = new ArrayList<>();
        ops.add(new Tmpfs("/dev", NOSUID | NODEV | NOEXEC, "mode=755,size=65536"));
        for (String name : List.of("null", "zero", "full", "random", "urandom", "tty")) {
            ops.add(new MountPointFile("/dev/" + name));
            ops.add(new Bind(Path.of("/dev/" + name), "/dev/" + name));
        }
        ops.addAll(List.of(
                new Mkdir("/dev/pts", 0755),
                new Devpts("/dev/pts", NOSUID | NOEXEC, "newinstance,ptmxmode=0666,mode=0620"),
                new Symlink("/dev/ptmx", "pts/ptmx"),
                new Mkdir("/dev/shm", 01777),
                new Tmpfs("/dev/shm", NOSUID | NODEV, "mode=1777,size=1048576"),
                new Symlink("/dev/fd", "/proc/self/fd"),
                new Symlink("/dev/stdin", "/proc/self/fd/0"),
                new Symlink("/dev/stdout", "/proc/self/fd/1"),
                new Symlink("/dev/stderr", "/proc/self/fd/2"),
                new Remount("/dev", RO | NOSUID | NODEV | NOEXEC)));
        return ops;
    }

    /** The helper's steps, last for every tenant. */
    private static List<MountOp> helper() {
        List<MountOp> ops = new ArrayList<>();
        ops.add(new Proc());
        for (String p : List.of("/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
                "/proc/latency_stats", "/proc/acpi", "/proc/scsi", "/proc/asound", "/sys/firmware")) {
            ops.add(new Mask(p));
        }
        for (String p : List.of("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs")) {
            ops.add(new ReadOnly(p));
        }
        return ops;
    }

    private static List<MountOp> concat(List<MountOp> head, List<MountOp> middle, List<MountOp> tail) {
        List<MountOp> all = new ArrayList<>(head);
        all.addAll(middle);
        all.addAll(tail);
        return all;
    }

    @Test
    void aBusyboxTenantGetsTheReadOnlyDistroPrivateTmpDevRunAndOnlyItsOwnHome() {
        Path distro = DISTROS.resolve("busybox");
        List<MountOp> expected = new ArrayList<>(List.of(
                new BindRoot(distro),
                new Remount("/", RO | NOSUID | NODEV),
                new Tmpfs("/tmp", NOSUID | NODEV, "mode=1777,size=1048576")));
        expected.addAll(dev());
        expected.addAll(List.of(
                new Bind(Path.of("/run/emperor/vassals/a"), "/run"),
                new Remount("/run", NOSUID | NODEV),
                new Tmpfs("/home", NOSUID | NODEV | NOEXEC, "mode=755,size=16384"),
                new Mkdir("/home/a", 0755),
                new Bind(Path.of("/var/lib/emperor/homes/a"), "/home/a"),
                new Remount("/home/a", NOSUID | NODEV),
                new Remount("/home", RO | NOSUID | NODEV | NOEXEC)));
        expected.addAll(helper());

        assertThat(MountPlan.of(spec(distro, "/home/a", null, List.of())).ops()).containsExactlyElementsOf(expected);
    }

    @Test
    void aBookwormTenantWithOptAndItsAccountFilesGetsThemReadOnlyAfterItsHome() {
        // The account files are the binds the supervisor adds for a distro with /etc/passwd and /etc/group.
        Path distro = DISTROS.resolve("bookworm");
        List<BindMount> binds = List.of(
                new BindMount(Path.of("/run/emperor/accounts/a/passwd"), "/etc/passwd", false),
                new BindMount(Path.of("/run/emperor/accounts/a/group"), "/etc/group", false));
        List<MountOp> ops = MountPlan.of(spec(distro, "/home/a", Path.of("/srv/opt"), binds)).ops();

        List<MountOp> afterHome = ops.subList(ops.indexOf(new Remount("/home", RO | NOSUID | NODEV | NOEXEC)) + 1, ops.size());
        assertThat(afterHome).containsExactlyElementsOf(concat(List.of(
                new Bind(Path.of("/srv/opt"), "/opt"),
                new Remount("/opt", RO | NOSUID | NODEV),
                new Bind(Path.of("/run/emperor/accounts/a/passwd"), "/etc/passwd"),
                new Remount("/etc/passwd", RO | NOSUID | NODEV),
                new Bind(Path.of("/run/emperor/accounts/a/group"), "/etc/group"),
                new Remount("/etc/group", RO | NOSUID | NODEV)), List.of(), helper()));
        assertThat(ops.get(0)).isEqualTo(new BindRoot(distro));
    }

    @Test
    void extraBindsFollowTheFileInOrderAndOnlyWritableOnesStayWritable() {
        List<MountOp> ops = MountPlan.of(spec("/home/a", List.of(
                new BindMount(Path.of("/srv/data"), "/data", true),
                new BindMount(Path.of("/srv/ref"), "/srv/ref", false)))).ops();
        int first = ops.indexOf(new Bind(Path.of("/srv/data"), "/data"));
        assertThat(ops.subList(first, first + 4)).containsExactly(
                new Bind(Path.of("/srv/data"), "/data"),
                new Remount("/data", NOSUID | NODEV),
                new Bind(Path.of("/srv/ref"), "/srv/ref"),
                new Remount("/srv/ref", RO | NOSUID | NODEV));
        assertThat(ops.get(first + 4)).isEqualTo(new Proc());
    }

    @Test
    void aHomeOnADiskImageIsBoundFromWhereTheEmperorMountedTheImage() {
        // The image's loop mount happens on the host (TenantVolume), before the spawn: the jail
        // binds HOME-DIR/NAME and RUN-DIR/vassals/NAME as for any home, from the image's mount.
        List<MountOp> ops = MountPlan.of(spec("/home/a", List.of())).ops();
        assertThat(ops).containsSubsequence(
                new Bind(Path.of("/run/emperor/vassals/a"), "/run"),
                new Bind(Path.of("/var/lib/emperor/homes/a"), "/home/a"));
        assertThat(ops).noneMatch(op -> op.describe().contains(".img"));
    }

    @Test
    void aNestedHomeGetsEachDirectoryMadeInTheHomeTmpfs() {
        List<MountOp> ops = MountPlan.of(spec("/home/team/a", List.of())).ops();
        assertThat(ops).containsSubsequence(
                new Tmpfs("/home", NOSUID | NODEV | NOEXEC, "mode=755,size=16384"),
                new Mkdir("/home/team", 0755),
                new Mkdir("/home/team/a", 0755),
                new Bind(Path.of("/var/lib/emperor/homes/a"), "/home/team/a"),
                new Remount("/home", RO | NOSUID | NODEV | NOEXEC));
    }

    @Test
    void aHomeOutsideHomeIsBoundOntoTheDistrosOwnDirectoryWithoutAHomeTmpfs() {
        List<MountOp> ops = MountPlan.of(spec("/srv/app", List.of())).ops();
        assertThat(ops).containsSubsequence(
                new Remount("/run", NOSUID | NODEV),
                new Bind(Path.of("/var/lib/emperor/homes/a"), "/srv/app"),
                new Remount("/srv/app", NOSUID | NODEV),
                new Proc());
        assertThat(ops).noneMatch(op -> op.describe().contains(" /home"));
    }

    @Test
    void devsMountPointsAreCreatedBeforeTheirBindsAndDevIsReadOnlyOnceComplete() {
        List<MountOp> ops = MountPlan.of(spec("/home/a", List.of())).ops();
        int tmpfs = ops.indexOf(new Tmpfs("/dev", NOSUID | NODEV | NOEXEC, "mode=755,size=65536"));
        assertThat(ops.subList(tmpfs, tmpfs + dev().size())).containsExactlyElementsOf(dev());
        // The device binds keep the host node's flags: no remount of /dev/null itself.
        assertThat(ops).noneMatch(op -> op instanceof Remount r && r.target().startsWith("/dev/"));
    }

    @Test
    void theHelpersOptionsComeFromThePlanInTheOrderTheHelperAppliesThem() {
        MountPlan plan = MountPlan.of(spec("/home/a", List.of()));
        List<String> expected = new ArrayList<>(List.of("--proc"));
        for (String p : MountPlan.MASKED_PATHS) expected.addAll(List.of("--mask", p));
        for (String p : MountPlan.READ_ONLY_PATHS) expected.addAll(List.of("--ro", p));
        assertThat(plan.helperOptions()).containsExactlyElementsOf(expected);
        assertThat(plan.inRoot()).hasSize(plan.ops().size() - helper().size());
    }

    @Test
    void describesEachStepOnOneLine() {
        List<String> lines = MountPlan.of(spec(Path.of("/srv/distro"), "/home/a", null,
                List.of(new BindMount(Path.of("/srv/x"), "/srv/x", true)))).describe();
        assertThat(lines).startsWith(
                "bind /srv/distro onto /",
                "remount / ro,nosuid,nodev",
                "tmpfs on /tmp rw,nosuid,nodev mode=1777,size=1048576",
                "tmpfs on /dev rw,nosuid,nodev,noexec mode=755,size=65536",
                "create /dev/null (empty, opened read-only)",
                "bind /dev/null onto /dev/null");
        assertThat(lines).contains("mkdir /dev/pts 0755", "mkdir /dev/shm 1777", "symlink /dev/ptmx -> pts/ptmx",
                "remount /srv/x rw,nosuid,nodev", "helper: proc on /proc nosuid,nodev,noexec",
                "helper: mask /proc/kcore", "helper: read-only /proc/sys");
        assertThat(lines).last().isEqualTo("helper: read-only /proc/fs");
    }

    @Test
    void acceptsCleanAbsolutePaths() {
        assertThatCode(() -> MountPlan.validate(spec("/home/a", List.of(new BindMount(Path.of("/srv/x"), "/srv/x", false)))))
                .doesNotThrowAnyException();
    }

    @Test
    void refusesAHomePathThatClimbsOut() {
        assertThatThrownBy(() -> MountPlan.of(spec("/home/../etc", List.of())))
                .isInstanceOf(JailException.class)
                .hasMessageContaining("/home/../etc");
    }

    @Test
    void refusesRelativeOrRootBindTargets() {
        assertThatThrownBy(() -> MountPlan.of(spec("/home/a", List.of(new BindMount(Path.of("/x"), "srv", true)))))
                .hasMessageContaining("bind target");
        assertThatThrownBy(() -> MountPlan.of(spec("/home/a", List.of(new BindMount(Path.of("/x"), "/", true)))))
                .hasMessageContaining("bind target");
    }
}
