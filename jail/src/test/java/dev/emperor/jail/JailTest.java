package dev.emperor.jail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Real tenants in a busybox distro: needs root, the built helper and a cgroup hierarchy. */
class JailTest {
    private TestTenants t;

    @BeforeEach
    void setUp() throws Exception {
        t = new TestTenants();
    }

    @AfterEach
    void tearDown() throws Exception {
        t.close();
    }

    @Test
    void payloadRunsAsTheTenantUidAsTheChildOfPid1() throws Exception {
        String out = t.run(t.spec("uid", "sh", "-c", "id -u; id -g; echo $$ $PPID"));
        assertThat(out).isEqualTo(TestTenants.UID + "\n" + TestTenants.GID + "\n2 1\n");
    }

    @Test
    void theTenantsMountsAreThePlansInItsOrderWithItsFlags() throws Exception {
        Path shared = Files.createDirectory(t.dir.resolve("shared"));
        JailSpec spec = withDistroAndBind(t.spec("plan", "cat", "/proc/self/mountinfo"), t.distro,
                new BindMount(shared, "/srv", false));
        MountPlan plan = MountPlan.of(spec);
        // What the plan mounts, in order, and each mount's last flags (a Remount sets them).
        java.util.Map<String, Long> expected = new java.util.LinkedHashMap<>();
        for (MountOp op : plan.ops()) {
            switch (op) {
                case MountOp.BindRoot b -> expected.put("/", 0L);
                case MountOp.Bind b -> expected.put(b.target(), 0L);
                case MountOp.Tmpfs m -> expected.put(m.target(), m.flags());
                case MountOp.Devpts m -> expected.put(m.target(), m.flags());
                case MountOp.Remount r -> expected.put(r.target(), r.flags());
                case MountOp.Proc p -> expected.put("/proc", LibC.MS_NOSUID | LibC.MS_NODEV | LibC.MS_NOEXEC);
                default -> { } // masks and read-only paths: skipped by the helper where the path is missing
            }
        }

        // mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ..., in the order the mounts were made
        java.util.Map<String, String> actual = new java.util.LinkedHashMap<>();
        for (String line : t.run(spec).lines().toList()) {
            String[] fields = line.split(" ");
            actual.putIfAbsent(fields[4], fields[5]);
        }
        assertThat(actual.keySet().stream().filter(expected::containsKey).toList())
                .containsExactlyElementsOf(expected.keySet());
        expected.forEach((mountPoint, flags) -> {
            List<String> options = Arrays.asList(actual.get(mountPoint).split(","));
            assertThat(options).as(mountPoint).contains((flags & LibC.MS_RDONLY) != 0 ? "ro" : "rw");
            if ((flags & LibC.MS_NOSUID) != 0) assertThat(options).as(mountPoint).contains("nosuid");
            if ((flags & LibC.MS_NODEV) != 0) assertThat(options).as(mountPoint).contains("nodev");
            if ((flags & LibC.MS_NOEXEC) != 0) assertThat(options).as(mountPoint).contains("noexec");
        });
        // The helper's read-only paths are there too, after /proc.
        assertThat(actual.get("/proc/sys")).startsWith("ro,");
    }

    @Test
    void payloadRunsUnderSeccompWithoutNewPrivileges() throws Exception {
        String out = t.run(t.spec("seccomp", "grep", "-E", "^(Seccomp|NoNewPrivs|CapEff):", "/proc/self/status"));
        assertThat(out).contains("NoNewPrivs:\t1").contains("Seccomp:\t2").contains("CapEff:\t0000000000000000");
    }

    @Test
    void tenantProcessesAreInItsCgroupWhichIsTheirCgroupRoot() throws Exception {
        try (TestTenants.Output out = new TestTenants.Output(t.dir.resolve("out"))) {
            TenantProcess p = t.spawn(t.spec("cg", "sh", "-c", "cat /proc/self/cgroup; exec sleep 1000"), out.stdio());
            assertThat(t.cgroups.open("cg").orElseThrow().pids()).contains(p.pid());
            // spawn returns once sh is exec'd; cat may not have written yet: wait (bounded) for it.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (out.read().isEmpty() && System.nanoTime() < deadline) Thread.sleep(10);
            p.signal(LibC.SIGKILL);
            t.exitOf(p).get(30, TimeUnit.SECONDS);
            // Inside its cgroup namespace the tenant's cgroup is "/": it learns nothing of the host's tree.
            assertThat(out.read().lines()).isNotEmpty().allMatch(line -> line.endsWith(":/"));
        }
    }

    @Test
    void spawnsFromManyVirtualThreadsAtOnceLeaveEveryJvmThreadOnTheHost() throws Exception {
        List<JailSpec> specs = new java.util.ArrayList<>();
        for (int i = 0; i < 6; i++) specs.add(t.spec("many" + i, "hostname"));
        List<CompletableFuture<String>> outs = new java.util.ArrayList<>();
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (JailSpec spec : specs) {
                outs.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return t.run(spec);
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }, threads));
            }
            for (int i = 0; i < specs.size(); i++) assertThat(outs.get(i).get(60, TimeUnit.SECONDS)).isEqualTo("many" + i + ".test\n");
        }
        String hostNet = Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
        String hostMnt = Files.readSymbolicLink(Path.of("/proc/self/ns/mnt")).toString();
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : tasks.toList()) {
                try {
                    assertThat(Files.readSymbolicLink(task.resolve("ns/net")).toString()).as(task.toString()).isEqualTo(hostNet);
                    assertThat(Files.readSymbolicLink(task.resolve("ns/mnt")).toString()).as(task.toString()).isEqualTo(hostMnt);
                } catch (java.nio.file.NoSuchFileException exited) {
                    // a thread that ended meanwhile
                }
            }
        }
    }

    @Test
    void homeOutsideHomeIsBoundOntoTheDistrosDirectory() throws Exception {
        JailSpec good = t.spec("srvhome", "sh", "-c", "echo x > /srv/file && ls /home | wc -l");
        JailSpec spec = good.toBuilder().homePath("/srv").cwd("/srv").build();
        assertThat(t.run(spec)).isEqualTo("0\n");
        assertThat(spec.homeDir().resolve("file")).hasContent("x");
    }

    @Test
    void absoluteSymlinksInTheDistroAreFollowedInsideTheRoot() throws Exception {
        Path distro = TestTenants.buildBusyboxDistro(t.dir.resolve("linked-distro"));
        Files.createSymbolicLink(distro.resolve("data"), Path.of("/srv"));
        Path shared = Files.createDirectory(t.dir.resolve("payload-data"));
        Files.writeString(shared.resolve("file"), "inside\n");
        JailSpec spec = withDistroAndBind(t.spec("linked", "cat", "/srv/file"), distro, new BindMount(shared, "/data", false));
        // The bind went onto the distro's /srv, where /data leads inside the tenant.
        assertThat(t.run(spec)).isEqualTo("inside\n");
    }

    @Test
    void aSymlinkInTheDistroCannotPointAMountAtTheHost() throws Exception {
        // The distro's /escape leads to a directory that exists on the host only; resolved
        // inside the root it leads nowhere, and the spawn fails instead of mounting there.
        Path hostDir = Files.createDirectory(t.dir.resolve("host-victim"));
        Path distro = TestTenants.buildBusyboxDistro(t.dir.resolve("evil-distro"));
        Files.createSymbolicLink(distro.resolve("escape"), Path.of("../../../../../../../.." + hostDir));
        JailSpec spec = withDistroAndBind(t.spec("escape", "true"), distro, new BindMount(t.dir, "/escape", false));
        assertThatThrownBy(() -> t.spawn(spec, new Stdio(0, 1, 2)))
                .isInstanceOf(JailException.class)
                .hasMessageContaining("resolve: /escape")
                .hasMessageEndingWith("No such file or directory");
        assertThat(t.hostHasMountsUnderJails()).isFalse();
        assertThat(t.cgroups.open("escape")).isEmpty();
    }

    private static JailSpec withDistroAndBind(JailSpec s, Path distro, BindMount bind) {
        return s.toBuilder().distroRoot(distro).binds(List.of(bind)).build();
    }

    @Test
    void ksmCanBeAskedFor() throws Exception {
        JailSpec good = t.spec("ksm", "echo", "merged");
        JailSpec spec = good.toBuilder().ksm(true).build();
        assertThat(t.run(spec)).isEqualTo("merged\n");
    }

    @Test
    void tenantHasItsOwnHostname() throws Exception {
        assertThat(t.run(t.spec("named", "hostname"))).isEqualTo("named.test\n");
    }

    @Test
    void procShowsOnlyTheTenantsProcesses() throws Exception {
        String out = t.run(t.spec("procs", "sh", "-c", "cd /proc && echo [0-9]*"));
        // pid 1 (the helper), 2 (sh) and nothing of the host's
        List<Integer> pids = Arrays.stream(out.trim().split(" ")).map(Integer::parseInt).toList();
        assertThat(pids).contains(1, 2).allMatch(pid -> pid < 10);
    }

    @Test
    void rootIsReadOnly() throws Exception {
        String out = t.run(t.spec("ro", "sh", "-c", "touch /x 2>/dev/null && echo writable || echo read-only; "
                + "grep -E '^[0-9]+ [0-9]+ [0-9:]+ [^ ]+ / ' /proc/self/mountinfo"));
        assertThat(out).startsWith("read-only\n").contains(" ro,");
    }

    @Test
    void tmpIsWritableAndPrivate() throws Exception {
        String marker = "emperor-test-" + System.nanoTime();
        String out = t.run(t.spec("tmp", "sh", "-c", "echo hi > /tmp/" + marker + " && cat /tmp/" + marker));
        assertThat(out).isEqualTo("hi\n");
        assertThat(Path.of("/tmp", marker)).doesNotExist();
        assertThat(t.distro.resolve("tmp").resolve(marker)).doesNotExist();
    }

    @Test
    void runIsTheTenantsRunDirectoryAndVarRunLeadsThere() throws Exception {
        JailSpec spec = t.spec("run", "sh", "-c", "echo a > /run/app.sock && echo b > /var/run/app.pid && readlink /var/run");
        String marker = "app.pid";
        assertThat(t.run(spec)).isEqualTo("/run\n");
        assertThat(spec.runDir().resolve("app.sock")).hasContent("a");
        // The distro's /var/run -> /run symlink was resolved inside the tenant, not on the host.
        assertThat(spec.runDir().resolve(marker)).hasContent("b");
        assertThat(Path.of("/run", marker)).doesNotExist();
    }

    @Test
    void homeIsWritableAndAloneUnderHome() throws Exception {
        JailSpec spec = t.spec("home", "sh", "-c", "echo mine > /home/tenant/file && ls /home && mkdir /home/other 2>/dev/null || echo refused");
        assertThat(t.run(spec)).isEqualTo("tenant\nrefused\n");
        assertThat(spec.homeDir().resolve("file")).hasContent("mine");
    }

    @Test
    void devHoldsOnlyTheHarmlessDevices() throws Exception {
        String out = t.run(t.spec("dev", "sh", "-c", "ls /dev; echo x > /dev/null && echo null-ok; touch /dev/sda 2>/dev/null || echo dev-read-only"));
        assertThat(out.lines().toList()).containsAll(List.of("full", "null", "ptmx", "pts", "random", "shm", "tty", "urandom", "zero",
                "null-ok", "dev-read-only"));
        assertThat(out).doesNotContain("sda");
    }

    @Test
    void sensitiveProcFilesAreMaskedOrReadOnly() throws Exception {
        String out = t.run(t.spec("masks", "sh", "-c",
                "echo kcore=$(cat /proc/kcore 2>/dev/null | wc -c); grep ' /proc/sys ' /proc/self/mountinfo"));
        assertThat(out).startsWith("kcore=0\n").contains(" ro,");
    }

    @Test
    void loopbackIsUp() throws Exception {
        String out = t.run(t.spec("lo", "sh", "-c", "cat /sys/class/net/lo/operstate 2>/dev/null; ip link show lo"));
        assertThat(out).contains("lo:").contains("UP");
    }

    @Test
    void networkHookRunsInsideTheTenantsNetworkNamespace() throws Exception {
        String[] seen = new String[1];
        NetworkHook hook = () -> {
            try {
                seen[0] = Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
        try (TestTenants.Output out = new TestTenants.Output(t.dir.resolve("out"))) {
            TenantProcess p = t.spawn(t.spec("hooked", "sleep", "1000"), out.stdio(), hook);
            String host = Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
            String tenant = Files.readSymbolicLink(Path.of("/proc/" + p.pid() + "/ns/net")).toString();
            assertThat(seen[0]).isNotEqualTo(host).isEqualTo(tenant);
        }
    }

    @Test
    void aFailingNetworkHookFailsTheSpawnAndLeavesNothing() throws Exception {
        JailSpec spec = t.spec("nonet", "sleep", "1000");
        assertThatThrownBy(() -> t.spawn(spec, new Stdio(0, 1, 2), () -> {
            throw new IllegalStateException("no tun for you");
        })).hasMessage("no tun for you");
        assertThat(t.cgroups.open("nonet")).isEmpty();
        assertThat(t.hostHasMountsUnderJails()).isFalse();
    }

    @Test
    void aMissingProgramFailsTheSpawnAtExecAndLeavesNothing() throws Exception {
        JailSpec spec = t.spec("noprog", "no-such-program");
        assertThatThrownBy(() -> t.spawn(spec, new Stdio(0, 1, 2)))
                .isInstanceOf(JailException.class)
                .satisfies(e -> assertThat(((JailException) e).step()).isEqualTo("exec"))
                .hasMessageContaining("no-such-program");
        assertThat(t.cgroups.open("noprog")).isEmpty();
        assertThat(t.hostHasMountsUnderJails()).isFalse();
    }

    @Test
    void aMissingDistroFailsTheSpawnAndLeavesNothing() throws Exception {
        JailSpec good = t.spec("nodistro", "true");
        JailSpec spec = good.toBuilder().distroRoot(t.dir.resolve("no-such-distro")).build();
        assertThatThrownBy(() -> t.spawn(spec, new Stdio(0, 1, 2)))
                .isInstanceOf(JailException.class)
                .hasMessageContaining("no-such-distro");
        assertThat(t.cgroups.open("nodistro")).isEmpty();
        assertThat(t.hostHasMountsUnderJails()).isFalse();
    }

    @Test
    void aBindSourceMissingOnTheHostFailsTheSpawnNamingItAndLeavesNothing() throws Exception {
        Path missing = t.dir.resolve("no-such-source");
        JailSpec spec = t.spec("nosource", "true").toBuilder()
                .binds(List.of(new BindMount(missing, "/srv", false))).build();
        assertThatThrownBy(() -> t.spawn(spec, new Stdio(0, 1, 2)))
                .isInstanceOf(JailException.class)
                .satisfies(e -> assertThat(((JailException) e).step()).isEqualTo("bind"))
                .hasMessageContaining(missing + " for tenant nosource: No such file or directory");
        assertThat(t.cgroups.open("nosource")).isEmpty();
        assertThat(t.hostHasMountsUnderJails()).isFalse();
    }

    @Test
    void aBindTargetMissingInTheDistroFailsTheSpawn() throws Exception {
        JailSpec good = t.spec("nobind", "true");
        JailSpec spec = good.toBuilder().binds(List.of(new BindMount(t.dir, "/no/such/dir", false))).build();
        assertThatThrownBy(() -> t.spawn(spec, new Stdio(0, 1, 2)))
                .isInstanceOf(JailException.class)
                .hasMessageContaining("/no/such/dir");
        assertThat(t.cgroups.open("nobind")).isEmpty();
        assertThat(t.hostHasMountsUnderJails()).isFalse();
    }

    @Test
    void extraBindsAreReadOnlyUnlessWritable() throws Exception {
        Path shared = Files.createDirectory(t.dir.resolve("shared"));
        Files.writeString(shared.resolve("data"), "shared\n");
        JailSpec good = t.spec("binds", "sh", "-c", "cat /srv/data; touch /srv/new 2>/dev/null || echo ro");
        JailSpec spec = good.toBuilder().binds(List.of(new BindMount(shared, "/srv", false))).build();
        assertThat(t.run(spec)).isEqualTo("shared\nro\n");
    }

    @Test
    void nothingOfATenantIsMountedOnTheHost() throws Exception {
        try (TestTenants.Output out = new TestTenants.Output(t.dir.resolve("out"))) {
            TenantProcess p = t.spawn(t.spec("hidden", "sleep", "1000"), out.stdio());
            assertThat(p.isAlive()).isTrue();
            assertThat(t.hostHasMountsUnderJails()).isFalse();
        }
    }

    @Test
    void enteredCommandSeesTheTenantsHostnameAndProcesses() throws Exception {
        try (TestTenants.Output out = new TestTenants.Output(t.dir.resolve("enter.out"))) {
            TenantProcess init = t.spawn(t.spec("entered", "sleep", "1000"), out.stdio());
            TenantProcess shell = t.enter(init, t.enterSpec("sh", "-c", "hostname; id -u; cat /proc/2/cmdline; echo; grep Seccomp: /proc/self/status"), out.stdio());
            assertThat(t.exitOf(shell).get(30, TimeUnit.SECONDS)).isEqualTo(ExitStatus.exited(0));
            assertThat(out.read()).isEqualTo("entered.test\n" + TestTenants.UID + "\nsleep\u00001000\u0000\nSeccomp:\t2\n");
        }
    }

    @Test
    void enteredShellGetsAControllingTerminalFromTheTenantsOwnDevpts() throws Exception {
        try (TestTenants.Output out = new TestTenants.Output(t.dir.resolve("pty.out"))) {
            TenantProcess init = t.spawn(t.spec("pty", "sleep", "1000"), out.stdio());
            try (TenantTerminal terminal = t.jail.openTerminal(init, TestTenants.UID, TestTenants.GID, 42, 132)) {
                int slave = terminal.slave();
                EnterSpec spec = new EnterSpec(List.of("sh", "-c", "tty; stty size; stat -c '%u %a' $(tty)"),
                        List.of("PATH=/bin"), "/", TestTenants.UID, TestTenants.GID, List.of(), true);
                TenantProcess shell = t.enter(init, spec, new Stdio(slave, slave, slave));
                terminal.closeSlave();
                assertThat(t.exitOf(shell).get(30, TimeUnit.SECONDS)).isEqualTo(ExitStatus.exited(0));
                StringBuilder text = new StringBuilder();
                byte[] buf = new byte[4096];
                while (true) {
                    long n;
                    try {
                        n = LibC.INSTANCE.read(terminal.master(), buf, buf.length);
                    } catch (com.sun.jna.LastErrorException e) {
                        break; // EIO: every slave fd is closed
                    }
                    if (n <= 0) break;
                    text.append(new String(buf, 0, (int) n, java.nio.charset.StandardCharsets.UTF_8));
                }
                // The tenant's devpts numbers from 0, whatever the host's ptys are.
                assertThat(text.toString()).isEqualTo("/dev/pts/0\r\n42 132\r\n" + TestTenants.UID + " 620\r\n");
            }
        }
    }

    @Test
    void enteringAStoppedTenantIsRefused() throws Exception {
        try (TestTenants.Output out = new TestTenants.Output(t.dir.resolve("out"))) {
            TenantProcess init = t.spawn(t.spec("gone", "true"), out.stdio());
            t.exitOf(init).get(30, TimeUnit.SECONDS);
            assertThatThrownBy(() -> t.enter(init, t.enterSpec("true"), out.stdio()))
                    .isInstanceOf(JailException.class)
                    .hasMessageContaining("not running");
        }
    }

    @Test
    void reaperReportsExitCodes() throws Exception {
        try (TestTenants.Output out = new TestTenants.Output(t.dir.resolve("out"))) {
            TenantProcess p = t.spawn(t.spec("code", "sh", "-c", "exit 7"), out.stdio());
            assertThat(t.exitOf(p).get(30, TimeUnit.SECONDS)).isEqualTo(ExitStatus.exited(7));
        }
    }

    @Test
    void signalsToPid1ReachThePayload() throws Exception {
        try (TestTenants.Output out = new TestTenants.Output(t.dir.resolve("out"))) {
            TenantProcess p = t.spawn(t.spec("term", "sleep", "1000"), out.stdio());
            CompletableFuture<ExitStatus> exit = t.exitOf(p);
            assertThat(p.signal(15)).isTrue();
            // pid 1 forwards SIGTERM; the payload dies of it; pid 1 exits with 128+15
            assertThat(exit.get(30, TimeUnit.SECONDS)).isEqualTo(ExitStatus.exited(128 + 15));
        }
    }

    @Test
    void killingPid1IsReportedAsTheSignal() throws Exception {
        try (TestTenants.Output out = new TestTenants.Output(t.dir.resolve("out"))) {
            TenantProcess p = t.spawn(t.spec("kill9", "sleep", "1000"), out.stdio());
            CompletableFuture<ExitStatus> exit = t.exitOf(p);
            p.signal(LibC.SIGKILL);
            assertThat(exit.get(30, TimeUnit.SECONDS)).isEqualTo(ExitStatus.killed(LibC.SIGKILL));
        }
    }

    @Test
    void adoptFindsALivePid1AndRefusesAnotherStartTime() throws Exception {
        try (TestTenants.Output out = new TestTenants.Output(t.dir.resolve("out"))) {
            TenantProcess p = t.spawn(t.spec("adopt", "sleep", "1000"), out.stdio());
            try (TenantProcess adopted = t.jail.adopt("adopt", p.pid(), p.startTime()).orElseThrow()) {
                assertThat(adopted.isOurChild()).isFalse();
                assertThat(adopted.isAlive()).isTrue();
            }
            assertThat(t.jail.adopt("adopt", p.pid(), p.startTime() + 1)).isEmpty();
            int self = (int) ProcessHandle.current().pid();
            assertThat(t.jail.adopt("adopt", self, ProcStat.startTimeOf(self).orElseThrow())).as("not an emperor-init").isEmpty();
        }
    }

    @Test
    void destroyKillsEverythingAndTheReaperSeesPid1Go() throws Exception {
        try (TestTenants.Output out = new TestTenants.Output(t.dir.resolve("out"))) {
            TenantProcess p = t.spawn(t.spec("destroy", "sh", "-c", "sleep 1000 & sleep 1000 & wait"), out.stdio());
            CompletableFuture<ExitStatus> exit = t.exitOf(p);
            t.jail.destroy("destroy");
            // The cgroup's SIGKILL reaches pid 1 and its children together: either it dies of
            // it, or it has just reaped the shell killed the same way and exits with 128+9 first.
            assertThat(exit.get(30, TimeUnit.SECONDS)).isIn(ExitStatus.killed(LibC.SIGKILL),
                    ExitStatus.exited(128 + LibC.SIGKILL));
            assertThat(t.cgroups.open("destroy")).isEmpty();
            assertThat(p.isAlive()).isFalse();
        }
    }
}
