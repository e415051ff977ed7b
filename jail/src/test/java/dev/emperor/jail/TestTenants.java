package dev.emperor.jail;

import dev.emperor.jail.cgroup.CgroupDriver;
import dev.emperor.jail.cgroup.Cgroups;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real jail for tests: a busybox distro in a temporary directory, a cgroup subtree
 * "emperor-test-RANDOM" and a reaper. close() kills every tenant it started, removes their
 * cgroups and the subtree, and deletes the directory.
 */
final class TestTenants implements AutoCloseable {
    static final int UID = 1000;
    static final int GID = 1000;
    private static final List<String> APPLETS = List.of(
            "sh", "id", "cat", "ls", "ps", "sleep", "hostname", "touch", "mkdir", "echo", "mount", "ip",
            "grep", "wc", "readlink", "true", "false", "kill", "test", "stat", "head", "tty", "stty");

    final Path dir;
    final Path distro;
    final Path jails;
    final String subtree = "emperor-test-" + UUID.randomUUID().toString().substring(0, 8);
    final CgroupDriver cgroups = Cgroups.detect(subtree);
    final Jail jail;
    final PidfdReaper reaper = new PidfdReaper();
    private final List<String> tenants = new ArrayList<>();
    private final List<TenantProcess> processes = new ArrayList<>();

    TestTenants() throws IOException {
        dir = Files.createTempDirectory("emperor-jail-test");
        distro = buildBusyboxDistro(dir.resolve("distro"));
        jails = dir.resolve("jails");
        jail = new Jail(JailSettings.extractingHelper(dir.resolve("bin"), jails, cgroups));
    }

    /** A root like a Debian one, reduced to busybox: empty mount points, /var/run -> /run. */
    static Path buildBusyboxDistro(Path root) throws IOException {
        for (String d : List.of("bin", "proc", "tmp", "dev", "run", "home", "opt", "etc", "sys", "var", "srv", "root")) {
            Files.createDirectories(root.resolve(d));
        }
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.copy(Path.of("/bin/busybox"), root.resolve("bin/busybox"));
        for (String applet : APPLETS) Files.createSymbolicLink(root.resolve("bin").resolve(applet), Path.of("busybox"));
        Files.createSymbolicLink(root.resolve("var/run"), Path.of("/run"));
        Files.writeString(root.resolve("etc/passwd"),
                "root:x:0:0:root:/root:/bin/sh\ntenant:x:" + UID + ":" + GID + ":tenant:/home/tenant:/bin/sh\n");
        Files.writeString(root.resolve("etc/group"), "root:x:0:\ntenant:x:" + GID + ":\n");
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.toList()) {
                if (!Files.isSymbolicLink(p)) {
                    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(
                            Files.isDirectory(p) || p.endsWith("busybox") ? "rwxr-xr-x" : "rw-r--r--"));
                }
            }
        }
        Files.setPosixFilePermissions(root.resolve("tmp"), PosixFilePermissions.fromString("rwxrwxrwx"));
        return root;
    }

    /** A spec for tenant NAME running argv as UID, with fresh run and home directories. */
    JailSpec spec(String name, String... argv) throws IOException {
        tenants.add(name);
        Path run = tenantDir(name, "run");
        Path home = tenantDir(name, "home");
        return JailSpec.builder().name(name).hostname(name + ".test").distroRoot(distro).runDir(run).homeDir(home)
                .homePath("/home/tenant").tmpBytes(1 << 20).uid(UID).gid(GID).argv(List.of(argv))
                .env(List.of("PATH=/bin", "HOME=/home/tenant")).cwd("/home/tenant").build();
    }

    Path tenantDir(String name, String what) throws IOException {
        Path p = dir.resolve(name + "-" + what);
        Files.createDirectories(p);
        Files.setAttribute(p, "unix:uid", UID);
        Files.setAttribute(p, "unix:gid", GID);
        return p;
    }

    /** Spawns and remembers the process for clean-up. */
    TenantProcess spawn(JailSpec spec, Stdio stdio) {
        return spawn(spec, stdio, NetworkHook.NONE);
    }

    TenantProcess spawn(JailSpec spec, Stdio stdio, NetworkHook network) {
        TenantProcess p = jail.spawn(spec, stdio, network);
        processes.add(p);
        return p;
    }

    TenantProcess enter(TenantProcess init, EnterSpec spec, Stdio stdio) {
        TenantProcess p = jail.enter(init, spec, stdio);
        processes.add(p);
        return p;
    }

    /** Watches p; the future completes with its exit status. */
    CompletableFuture<ExitStatus> exitOf(TenantProcess p) {
        CompletableFuture<ExitStatus> exit = new CompletableFuture<>();
        reaper.watch(p, exit::complete);
        return exit;
    }

    /** Runs a payload to completion and returns what it wrote to stdout and stderr. */
    String run(JailSpec spec) throws Exception {
        try (Output out = new Output(dir.resolve(spec.name() + ".out"))) {
            TenantProcess p = spawn(spec, out.stdio());
            exitOf(p).get(30, TimeUnit.SECONDS);
            return out.read();
        }
    }

    EnterSpec enterSpec(String... argv) {
        return new EnterSpec(List.of(argv), List.of("PATH=/bin"), "/", UID, GID, List.of(), false);
    }

    /** True if the JVM's mount table (the host's) has anything under the jails directory. */
    boolean hostHasMountsUnderJails() throws IOException {
        String prefix = jails.toString();
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .map(line -> line.split(" ")[4])
                .anyMatch(mountPoint -> mountPoint.startsWith(prefix));
    }

    @Override
    public void close() throws IOException {
        for (TenantProcess p : processes) {
            if (!p.isClosed() && p.isAlive()) p.signal(LibC.SIGKILL);
        }
        for (String t : tenants) jail.destroy(t);
        reaper.close();
        for (TenantProcess p : processes) {
            if (p.isClosed()) continue;
            if (p.isOurChild()) Pidfd.reap(p.pidfd(), true); // no zombie left behind
            p.close();
        }
        // The subtree directory in each hierarchy (the driver removes only tenant cgroups).
        for (String hierarchy : List.of("memory", "cpu", "cpuacct", "pids", "unified", "")) {
            Path sub = Path.of("/sys/fs/cgroup", hierarchy, subtree);
            if (Files.isDirectory(sub)) Files.delete(sub);
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    /** A file that becomes a tenant's stdout and stderr (stdin is /dev/null). */
    static final class Output implements AutoCloseable {
        private final Path file;
        private final int fd;
        private final int devNull;

        Output(Path file) {
            this.file = file;
            this.fd = LibC.INSTANCE.open(file.toString(), LibC.O_WRONLY | LibC.O_CREAT | LibC.O_CLOEXEC | 01000, 0644);
            this.devNull = LibC.INSTANCE.open("/dev/null", LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        }

        Stdio stdio() {
            return new Stdio(devNull, fd, fd);
        }

        String read() throws IOException {
            return Files.readString(file, StandardCharsets.UTF_8);
        }

        @Override
        public void close() {
            LibC.closeQuietly(fd);
            LibC.closeQuietly(devNull);
        }
    }
}
