package dev.emperor.tests;

import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One Emperor daemon under test, driven strictly from the outside: a temporary root holding
 * its emperor.ini, vassal directory, state, run, log and home directories; the daemon runs as
 * a child JVM (`emperor run`), and every question is asked through the CLI (`emperor status
 * --json`, `start`, `stop`...), exactly as an operator would.
 *
 * <p>Each instance has its own cgroup subtree name ({@code emperor-test-<random>}) so tests
 * never see each other's tenants. {@link #close()} stops the daemon, then removes whatever
 * the test left behind: tenant processes (found through the subtree's cgroup.procs), the
 * subtree's cgroup directories, mounts under the temporary root and the root itself.
 */
public final class EmperorProcess implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path CGROUP_FS = Path.of("/sys/fs/cgroup");

    /** Where the jar and its libraries are: the reactor built them before this module's tests. */
    public static final Path REPO = Path.of(System.getProperty("emperor.repo", "..")).toAbsolutePath().normalize();
    /** The cached test distros (busybox, bookworm). */
    public static final Path DISTROS = Path.of(System.getProperty("emperor.test.distros",
            "/var/cache/emperor-tests/distros"));

    private final Path root;
    private final String cgroup;
    private final String gateway;
    private final Map<String, String> settings = new LinkedHashMap<>();
    private final List<Integer> pidsSeen = new ArrayList<>();
    private Process daemon;
    private int daemonStarts;

    /** A fresh temporary root with the default test settings (see {@link #set}). */
    public EmperorProcess() {
        this.cgroup = "emperor-test-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong()).substring(6);
        // Own gateway and subnet too, so that parallel runs and leftovers never clash.
        this.gateway = "et" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(2);
        try {
            this.root = Files.createTempDirectory(Path.of("/tmp"), "emperor-test-");
            Files.createDirectories(root.resolve("vassals"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        settings.put("vassals", "vassals");
        settings.put("state-dir", "state");
        settings.put("run-dir", "run");
        settings.put("log-dir", "log");
        settings.put("home-dir", "home");
        settings.put("distro-dir", DISTROS.toString());
        settings.put("cgroup", cgroup);
        settings.put("uid-range", "200000-200999");
        settings.put("stop-grace", "2s");
        settings.put("backoff-max", "30s");
        settings.put("rescan", "1s");
        settings.put("on-exit", "stop");
        settings.put("control-socket", "run/control.sock");
        settings.put("tun-subnet", "10.213." + ThreadLocalRandom.current().nextInt(256) + ".0/24");
        settings.put("tun-gateway", gateway);
        // The front proxy: free ports and a public port range of its own, so parallel runs never clash.
        httpPort = freePort();
        httpsPort = freePort();
        settings.put("http-listen", "127.0.0.1:" + httpPort);
        settings.put("https-listen", "127.0.0.1:" + httpsPort);
        // Below the kernel's ephemeral ports (32768-60999), which any outgoing connection may hold.
        int rangeStart = 20000 + ThreadLocalRandom.current().nextInt(127) * 100;
        settings.put("port-range", rangeStart + "-" + (rangeStart + 99));
    }

    private final int httpPort;
    private final int httpsPort;

    /**
     * A port nothing listens on now, from 10000-19999: below the kernel's ephemeral ports
     * (32768-60999), which any outgoing connection may take between this check and the
     * daemon's bind (a port-0 pick comes from there), and below the public port ranges.
     */
    public static int freePort() {
        for (int attempt = 0; ; attempt++) {
            int port = 10000 + ThreadLocalRandom.current().nextInt(10000);
            try (java.net.ServerSocket s = new java.net.ServerSocket()) {
                s.bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 1);
                return port;
            } catch (IOException taken) {
                if (attempt > 1000) throw new UncheckedIOException(taken);
            }
        }
    }

    /** The front proxy's plain HTTP port on 127.0.0.1. */
    public int httpPort() {
        return httpPort;
    }

    /** The front proxy's HTTPS port on 127.0.0.1. */
    public int httpsPort() {
        return httpsPort;
    }

    /** Overrides one `[emperor]` key before {@link #start()}. */
    public EmperorProcess set(String key, String value) {
        settings.put(key, value);
        return this;
    }

    public Path root() {
        return root;
    }

    public String cgroupName() {
        return cgroup;
    }

    /** The gateway tun in the host namespace; the NAT table is {@code emperor_GATEWAY}. */
    public String gatewayName() {
        return gateway;
    }

    /** The tenant subnet, e.g. 10.213.17.0/24. */
    public String tunSubnet() {
        return settings.get("tun-subnet");
    }

    public Path configFile() {
        return root.resolve("emperor.ini");
    }

    public Path vassalsDir() {
        return root.resolve("vassals");
    }

    /** The host directory that is the tenant's /run. */
    public Path runDirOf(String tenant) {
        return root.resolve("run/vassals").resolve(tenant);
    }

    /** The host directory that is the tenant's home. */
    public Path homeOf(String tenant) {
        return root.resolve("home").resolve(tenant);
    }

    /** The tenant's disk image (home and /run), when it has a limited disk. */
    public Path imageOf(String tenant) {
        return root.resolve("state/volumes").resolve(tenant + ".img");
    }

    public Path logOf(String tenant) {
        return root.resolve("log").resolve(tenant + ".log");
    }

    // ---- the daemon ---------------------------------------------------------------------------

    /** Writes emperor.ini and starts `emperor run`; returns once the control socket answers. */
    public EmperorProcess start() {
        return start(false);
    }

    /**
     * As {@link #start()}, with the daemon leading a session and process group of its own (as
     * a foreground `emperor run` leads its terminal's job): its pid is the group's id, so a
     * test can signal the whole group as a terminal's Ctrl-C does, without hitting itself.
     */
    public EmperorProcess startInOwnProcessGroup() {
        return start(true);
    }

    private int openFileLimit;

    /** Runs the daemon with this RLIMIT_NOFILE, soft and hard (as a unit's LimitNOFILE), from the next start. */
    public EmperorProcess withOpenFileLimit(int limit) {
        this.openFileLimit = limit;
        return this;
    }

    private boolean startWithSignalsIgnored;

    /**
     * Starts the daemon, from the next start, with SIGHUP, SIGINT and SIGTERM ignored, as
     * {@code nohup} under a shell without job control leaves them.
     */
    public EmperorProcess withInheritedIgnoredSignals() {
        this.startWithSignalsIgnored = true;
        return this;
    }

    /** Starts the daemon and returns what it printed if it exits before answering (the start must fail). */
    public String startExpectingFailure() {
        try {
            start();
        } catch (AssertionError expected) {
            return expected.getMessage();
        }
        throw new AssertionError("the emperor started, but it should have refused to");
    }

    private EmperorProcess start(boolean ownProcessGroup) {
        List<String> cmd = new ArrayList<>();
        // setsid(1) execs in place (our child is no group leader), so the pid stays the daemon's.
        if (ownProcessGroup) cmd.add("setsid");
        // prlimit(1) sets the limit and execs in place, like setsid: the pid stays the daemon's.
        if (openFileLimit > 0) cmd.addAll(List.of("/usr/bin/prlimit", "--nofile=" + openFileLimit + ":" + openFileLimit, "--"));
        // env(1) sets the dispositions and execs in place too.
        if (startWithSignalsIgnored) cmd.addAll(List.of("/usr/bin/env", "--ignore-signal=HUP,INT,TERM"));
        cmd.addAll(javaCommand());
        return start(cmd, Map.of());
    }

    /**
     * As {@link #start()}, through the operator's launcher (REPO/emperor run), with its JVM
     * options, and {@code env} added to its environment. The launcher execs java, so the
     * daemon's pid is the JVM's.
     */
    public EmperorProcess startWithLauncher(Map<String, String> env) {
        return start(new ArrayList<>(List.of(REPO.resolve("emperor").toString())), env);
    }

    private EmperorProcess start(List<String> cmd, Map<String, String> env) {
        writeConfig();
        cmd.addAll(List.of("run", "-c", configFile().toString()));
        try {
            Path out = root.resolve("emperor-" + (++daemonStarts) + ".out");
            ProcessBuilder builder = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile());
            builder.environment().putAll(env);
            daemon = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            waitFor("the control socket to answer", Duration.ofSeconds(60), () -> {
                if (!daemon.isAlive()) fail("emperor exited with " + daemon.exitValue() + ":\n" + daemonOutput());
                return cli("status", "-c", configFile().toString(), "--json").code() == 0;
            });
        } catch (AssertionError | RuntimeException e) {
            // A first start that fails leaves the test without an instance to close (its field
            // stays null): clean up here, or the root, gateway and NAT table would be left behind.
            if (daemonStarts == 1) close();
            throw e;
        }
        return this;
    }

    private void writeConfig() {
        StringBuilder ini = new StringBuilder("[emperor]\n");
        settings.forEach((k, v) -> ini.append(k).append(" = ").append(v).append('\n'));
        write(configFile(), ini.toString());
    }

    /** Writes emperor.ini again (after {@link #set}) and sends SIGHUP; returns once the daemon says it re-read the file. */
    public void reload() {
        Path out = root.resolve("emperor-" + daemonStarts + ".out");
        String reread = "re-read " + configFile();
        long before = occurrences(out, reread);
        writeConfig();
        try {
            new ProcessBuilder("kill", "-HUP", Long.toString(daemonPid())).start().waitFor();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        waitFor("the daemon to " + reread, Duration.ofSeconds(15), () -> occurrences(out, reread) > before, this::daemonOutput);
    }

    private static long occurrences(Path file, String text) {
        try {
            String all = Files.readString(file);
            long count = 0;
            for (int at = all.indexOf(text); at >= 0; at = all.indexOf(text, at + 1)) count++;
            return count;
        } catch (IOException e) {
            return 0;
        }
    }

    public long daemonPid() {
        return daemon.pid();
    }

    public boolean daemonAlive() {
        return daemon != null && daemon.isAlive();
    }

    /** SIGTERM, then waits for the daemon to exit (with on-exit = stop it stops every tenant first). */
    public int stop() {
        if (daemon == null) return 0;
        daemon.destroy();
        try {
            if (!daemon.waitFor(60, TimeUnit.SECONDS)) {
                daemon.destroyForcibly().waitFor();
                fail("emperor did not exit within 60 s of SIGTERM:\n" + daemonOutput());
            }
            return daemon.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            daemon = null;
        }
    }

    /** SIGKILL: the daemon gets no chance to do anything; its tenants keep running. */
    public void kill9() {
        daemon.destroyForcibly();
        try {
            daemon.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        daemon = null;
    }

    /** Everything the daemon(s) of this test printed so far (for failure messages). */
    public String daemonOutput() {
        StringBuilder all = new StringBuilder();
        for (int i = 1; i <= daemonStarts; i++) {
            Path out = root.resolve("emperor-" + i + ".out");
            try {
                String text = Files.readString(out);
                if (text.length() > 20_000) text = "..." + text.substring(text.length() - 20_000);
                all.append("---- emperor run #").append(i).append(" ----\n").append(text);
            } catch (IOException e) {
                all.append("(no output file ").append(out).append(")\n");
            }
        }
        return all.toString();
    }

    // ---- the CLI --------------------------------------------------------------------------------

    public record CliResult(int code, String out, String err) {}

    private static List<String> javaCommand() {
        Path supervisor = REPO.resolve("supervisor/target");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        if (Runtime.version().feature() >= 23) {
            cmd.add("--sun-misc-unsafe-memory-access=allow"); // as ./emperor: Netty's Unsafe buffers
        }
        cmd.addAll(List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", supervisor.resolve("emperor-supervisor.jar") + ":" + supervisor.resolve("lib") + "/*",
                "dev.emperor.supervisor.Main"));
        return cmd;
    }

    /** Runs `emperor ARGS...` and returns its exit code and output. */
    public static CliResult cli(String... args) {
        return cliOnce(args);
    }

    private static CliResult cliOnce(String... args) {
        List<String> cmd = javaCommand();
        cmd.addAll(List.of(args));
        try {
            Path out = Files.createTempFile("emperor-cli-", ".out");
            Path err = Files.createTempFile("emperor-cli-", ".err");
            try {
                Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor();
                    fail("emperor " + String.join(" ", args) + " did not finish in 60 s");
                }
                return new CliResult(p.exitValue(), Files.readString(out), Files.readString(err));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** `emperor COMMAND -c emperor.ini ARGS...`. */
    public CliResult command(String command, String... args) {
        List<String> all = new ArrayList<>(List.of(command, "-c", configFile().toString()));
        all.addAll(List.of(args));
        return cli(all.toArray(String[]::new));
    }

    /** `emperor status --json`: every tenant. */
    public List<JsonNode> statusJson() {
        CliResult r = command("status", "--json");
        if (r.code() != 0) fail("emperor status failed (" + r.code() + "): " + r.err() + "\n" + daemonOutput());
        try {
            List<JsonNode> list = new ArrayList<>();
            JSON.readTree(r.out()).forEach(list::add);
            for (JsonNode v : list) notePid(v);
            return list;
        } catch (IOException e) {
            throw new AssertionError("status --json printed no JSON: " + r.out(), e);
        }
    }

    /** `emperor status NAME --json`, or empty if the emperor does not know that tenant. */
    public Optional<JsonNode> status(String tenant) {
        return statusJson().stream().filter(v -> tenant.equals(v.path("name").asText())).findFirst();
    }

    /** The tenant's status, failing if it is unknown. */
    public JsonNode statusOf(String tenant) {
        return status(tenant).orElseThrow(() -> new AssertionError("no tenant " + tenant + " in status"));
    }

    private synchronized void notePid(JsonNode v) {
        int pid = v.path("pid").asInt();
        if (pid > 0 && !pidsSeen.contains(pid)) pidsSeen.add(pid);
    }

    /** Waits until the tenant is in {@code state}; returns its status then. */
    public JsonNode waitForState(String tenant, String state, Duration timeout) {
        JsonNode[] last = new JsonNode[1];
        waitFor(tenant + " to be " + state, timeout, () -> {
            last[0] = status(tenant).orElse(null);
            return last[0] != null && state.equals(last[0].path("state").asText());
        }, () -> "last status: " + last[0]);
        return last[0];
    }

    public JsonNode waitForRunning(String tenant) {
        return waitForState(tenant, "running", Duration.ofSeconds(30));
    }

    // ---- vassal files ---------------------------------------------------------------------------

    /**
     * The usual test payload (busybox): appends a line to /run/spawns each time it starts (so
     * the host can count spawns), writes its hostname and uid to /run/out, then sleeps.
     */
    public static final String SLEEPER =
            "exec = sh -c \"echo $$ >> /run/spawns; hostname > /run/out; id -u >> /run/out; exec sleep 100000\"";

    /** How many times the tenant's payload has started (lines in its /run/spawns). */
    public int spawnCount(String tenant) {
        return readLines(runDirOf(tenant).resolve("spawns")).size();
    }

    /** The file's lines, or none if it does not exist (yet). */
    public static List<String> readLines(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (java.nio.file.NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }


    /** Writes vassals/NAME.ini with the given lines under `[vassal]`, atomically (temp + rename). */
    public Path vassal(String name, String... lines) {
        StringBuilder ini = new StringBuilder("[vassal]\n");
        for (String line : lines) ini.append(line).append('\n');
        Path file = vassalsDir().resolve(name + ".ini");
        writeAtomically(file, ini.toString());
        return file;
    }

    /** Writes a file in place (not atomically), as an editor would. */
    public static void write(Path file, String content) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, content, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The control panel's way: write a temporary name in the same directory, then rename it into place. */
    public static void writeAtomically(Path file, String content) {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp" + ThreadLocalRandom.current().nextInt(1 << 20));
        write(tmp, content);
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- waiting ----------------------------------------------------------------------------------

    public interface Check {
        boolean holds() throws Exception;
    }

    /** Polls {@code check} every 200 ms until it holds; fails naming {@code what} after {@code timeout}. */
    public void waitFor(String what, Duration timeout, Check check) {
        waitFor(what, timeout, check, () -> "");
    }

    public void waitFor(String what, Duration timeout, Check check, Supplier<String> detail) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception lastError = null;
        while (true) {
            try {
                if (check.holds()) return;
                lastError = null;
            } catch (AssertionError e) {
                throw e;
            } catch (Exception e) {
                lastError = e;
            }
            if (System.nanoTime() > deadline) {
                AssertionError error = new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for "
                        + what + ". " + detail.get() + "\n" + daemonOutput());
                if (lastError != null) error.initCause(lastError);
                throw error;
            }
            sleep(Duration.ofMillis(200));
        }
    }

    public static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    // ---- the host's view --------------------------------------------------------------------------

    /** Whether a process with this pid exists and is not a zombie. */
    public static boolean alive(int pid) {
        if (pid <= 0) return false;
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (IOException e) {
            return false;
        }
    }

    /** Directories of this emperor's cgroup subtree in every mounted hierarchy (v1 and v2). */
    public List<Path> cgroupRoots() {
        List<Path> found = new ArrayList<>();
        try (var walk = Files.find(CGROUP_FS, 5, (p, a) -> a.isDirectory() && p.getFileName() != null
                && p.getFileName().toString().equals(cgroup))) {
            walk.forEach(found::add);
        } catch (IOException | UncheckedIOException e) {
            // a cgroup vanishing while we walk is fine
        }
        return found;
    }

    /** Every directory below (and including) this emperor's cgroup roots, deepest first. */
    public List<Path> cgroupDirs() {
        List<Path> dirs = new ArrayList<>();
        for (Path top : cgroupRoots()) {
            try (var walk = Files.walk(top)) {
                walk.filter(Files::isDirectory).forEach(dirs::add);
            } catch (IOException | UncheckedIOException e) {
                // vanished
            }
        }
        dirs.sort((a, b) -> Integer.compare(b.getNameCount(), a.getNameCount()));
        return dirs;
    }

    /** The tenant's cgroup directories (one per hierarchy), i.e. those named after it under our subtree. */
    public List<Path> cgroupDirsOf(String tenant) {
        return cgroupDirs().stream().filter(p -> p.getFileName().toString().equals(tenant)).toList();
    }

    /**
     * Host pids of every process in the tenant's cgroup, found from the processes' side
     * (/proc/PID/cgroup), so it works whatever hierarchy the emperor uses.
     */
    public List<Integer> processesOf(String tenant) {
        String marker = "/" + cgroup + "/" + tenant;
        List<Integer> pids = new ArrayList<>();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) procs::iterator) {
                String n = p.getFileName().toString();
                if (!n.chars().allMatch(Character::isDigit)) continue;
                try {
                    for (String line : Files.readAllLines(p.resolve("cgroup"))) {
                        String path = line.substring(line.indexOf(':', line.indexOf(':') + 1) + 1);
                        if (path.endsWith(marker) || path.contains(marker + "/")) {
                            if (alive(Integer.parseInt(n))) pids.add(Integer.parseInt(n));
                            break;
                        }
                    }
                } catch (IOException e) {
                    // exited meanwhile
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return pids;
    }

    /** Every live process in this emperor's cgroup subtree (any tenant). */
    public List<Integer> processesOfSubtree() {
        List<Integer> pids = new ArrayList<>();
        for (Path dir : cgroupDirs()) {
            for (String file : List.of("cgroup.procs", "tasks")) {
                try {
                    for (String line : Files.readAllLines(dir.resolve(file))) {
                        if (!line.isBlank()) {
                            int pid = Integer.parseInt(line.trim());
                            if (!pids.contains(pid)) pids.add(pid);
                        }
                    }
                } catch (IOException | NumberFormatException e) {
                    // not there in this hierarchy, or gone
                }
            }
        }
        return pids;
    }

    /** The inode of the process's pid namespace ("pid:[4026532...]"). */
    public static String pidNamespace(int pid) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/pid")).toString();
        } catch (IOException e) {
            return null;
        }
    }

    /** Mount points under this test's temporary root, as the host mount namespace sees them. */
    public List<String> mountsUnderRoot() {
        List<String> mounts = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String mountPoint = line.split(" ")[4];
                if (mountPoint.startsWith(root.toString() + "/") || mountPoint.equals(root.toString())) {
                    mounts.add(mountPoint);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return mounts;
    }

    /** How many times the host's mount table has something mounted exactly at this path. */
    public static long mountsAt(Path mountPoint) {
        try {
            return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                    .filter(line -> line.split(" ")[4].equals(mountPoint.toString())).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Loop devices (e.g. /dev/loop3) whose backing file lies under this test's temporary root. */
    public List<String> loopDevicesUnderRoot() {
        List<String> devices = new ArrayList<>();
        try (var all = Files.newDirectoryStream(Path.of("/sys/block"), "loop*")) {
            for (Path device : all) {
                try {
                    String backing = Files.readString(device.resolve("loop/backing_file")).strip();
                    if (backing.startsWith(root + "/")) devices.add("/dev/" + device.getFileName());
                } catch (IOException e) {
                    // not attached
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return devices;
    }

    // ---- cleaning up ------------------------------------------------------------------------------

    /**
     * Stops the daemon and removes everything this test created. Prints (to stderr) what it
     * had to clean by force, which is itself a finding when on-exit = stop was used.
     */
    @Override
    public void close() {
        List<String> forced = new ArrayList<>();
        if (daemon != null && daemon.isAlive()) {
            try {
                stop();
            } catch (AssertionError e) {
                forced.add(e.getMessage());
            }
        }
        // Processes still in our subtree: tenants the daemon left behind.
        for (int round = 0; round < 50; round++) {
            List<Integer> left = processesOfSubtree();
            synchronized (this) {
                for (int pid : pidsSeen) {
                    if (alive(pid) && isOurs(pid) && !left.contains(pid)) left.add(pid);
                }
            }
            if (left.isEmpty()) break;
            if (round == 0) forced.add("killed leftover tenant processes " + left);
            for (int pid : left) ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            sleep(Duration.ofMillis(100));
        }
        for (Path dir : cgroupDirs()) {
            for (int attempt = 0; attempt < 20; attempt++) {
                try {
                    Files.deleteIfExists(dir);
                    break;
                } catch (IOException e) {
                    sleep(Duration.ofMillis(100));
                }
            }
            if (Files.exists(dir)) forced.add("could not remove cgroup " + dir);
        }
        List<String> mounts = mountsUnderRoot();
        if (!mounts.isEmpty()) {
            forced.add("unmounted leftover mounts " + mounts);
            for (int i = mounts.size() - 1; i >= 0; i--) {
                try {
                    new ProcessBuilder("umount", "-l", mounts.get(i)).inheritIO().start().waitFor();
                } catch (IOException | InterruptedException e) {
                    forced.add("umount " + mounts.get(i) + ": " + e);
                }
            }
        }
        // Tenants' disk images: their loop devices detach themselves once unmounted (autoclear);
        // one still attached after that is a leak, detached here by its number.
        // (A loaded machine can take seconds to release the last tenant's filesystem.)
        for (int round = 0; round < 300 && !loopDevicesUnderRoot().isEmpty(); round++) sleep(Duration.ofMillis(100));
        for (String device : loopDevicesUnderRoot()) {
            forced.add("detached leftover loop device " + device);
            run("losetup", "-d", device);
        }
        // The gateway dies with the daemon; the NAT table is left for the next start: remove both.
        if (Files.exists(Path.of("/sys/class/net", gateway))) {
            forced.add("removed leftover gateway " + gateway);
            run("ip", "link", "del", gateway);
        }
        run("nft", "delete", "table", "ip", "emperor_" + gateway);
        if (mountsUnderRoot().isEmpty()) {
            deleteTree(root);
        } else {
            forced.add("left " + root + " in place: mounts remain under it");
        }
        if (!forced.isEmpty()) System.err.println("EmperorProcess cleanup (" + cgroup + "): " + forced);
    }

    /** Runs a host command to completion, ignoring its outcome (clean-up of what may not exist). */
    private static void run(String... command) {
        try {
            new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start().waitFor(30, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            System.err.println("EmperorProcess cleanup: " + String.join(" ", command) + ": " + e);
        }
    }

    /** Whether a pid is one of this test's tenants (its cgroup path names our subtree). */
    private boolean isOurs(int pid) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/cgroup")).contains("/" + cgroup + "/");
        } catch (IOException e) {
            return false;
        }
    }

    /** Deletes a tree without following symbolic links or crossing into other file systems. */
    private static void deleteTree(Path top) {
        try (var walk = Files.walk(top)) {
            List<Path> all = new ArrayList<>(walk.toList());
            all.sort((a, b) -> Integer.compare(b.getNameCount(), a.getNameCount()));
            for (Path p : all) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    System.err.println("EmperorProcess cleanup: cannot delete " + p + ": " + e);
                }
            }
        } catch (IOException | UncheckedIOException e) {
            System.err.println("EmperorProcess cleanup: " + e);
        }
    }
}
