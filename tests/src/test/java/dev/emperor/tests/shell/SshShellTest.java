package dev.emperor.tests.shell;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.emperor.tests.EmperorProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Tenants reached through the host's real OpenSSH: sshd's ForceCommand runs emperor-shell,
 * which enters the tenant of the logged-in user. One emperor and one sshd for the class:
 * "shop" (bookworm, uid 201001) and "other" (busybox, uid 201002); "ghost" has a host account
 * but no tenant.
 */
class SshShellTest {
    private static final int SHOP_UID = 201001;
    private static final int OTHER_UID = 201002;
    private static final int GHOST_UID = 201003;
    private static final Path CLIENT = EmperorProcess.REPO.resolve("supervisor/target/emperor-shell");
    private static final Path TESTS = EmperorProcess.REPO.resolve("tests/src/test/java/dev/emperor/tests/shell");

    private static EmperorProcess emperor;
    private static SshServer sshd;
    private static Path shellSocket;

    @BeforeAll
    static void start() throws IOException {
        emperor = new EmperorProcess();
        // The users sshd logs in must reach the shell socket under the test root.
        Files.setPosixFilePermissions(emperor.root(), PosixFilePermissions.fromString("rwxr-xr-x"));
        emperor.start();
        emperor.vassal("shop", "exec = sleep 100000", "distro = bookworm", "uid = " + SHOP_UID);
        emperor.vassal("other", "exec = sleep 100000", "distro = busybox", "uid = " + OTHER_UID);
        emperor.waitForRunning("shop");
        emperor.waitForRunning("other");
        shellSocket = emperor.root().resolve("run/shell.sock");
        sshd = new SshServer(emperor.root().resolve("ssh"),
                Map.of("shop", SHOP_UID, "other", OTHER_UID, "ghost", GHOST_UID), List.of("shop", "other", "ghost"),
                CLIENT + " --socket " + shellSocket);
    }

    @AfterAll
    static void stop() {
        if (sshd != null) sshd.close();
        if (emperor != null) emperor.close();
    }

    @Test
    void anInteractiveLoginGetsTheTenantsShellWithAWorkingTerminal() throws Exception {
        List<String> cmd = new ArrayList<>(List.of("python3", TESTS.resolve("pty_session.py").toString()));
        cmd.addAll(sshd.ssh("shop", "-tt"));
        Result r = run(cmd, null);
        assertThat(r.code).as(r.err).isZero();
        JsonNode session = new ObjectMapper().readTree(r.out);
        assertThat(session.get("hostname").asText()).isEqualTo("shop");
        assertThat(session.get("uid").asText()).isEqualTo(Integer.toString(SHOP_UID));
        assertThat(session.get("tty").asText()).isEqualTo("/dev/pts/0"); // the tenant's own devpts
        assertThat(session.get("pid1").asText()).isEqualTo("emperor-init init");
        assertThat(session.get("pid2").asText()).isEqualTo("sleep 100000");
        assertThat(session.get("size").asText()).isEqualTo("30 100");
        assertThat(session.get("resized").asText()).isEqualTo("40 120");
        assertThat(session.get("after_ctrl_c").asText()).isEqualTo("status=130");
        assertThat(session.get("exit").asInt()).isEqualTo(7);
    }

    @Test
    void aCommandKeepsItsExitCodeAndItsBytes() throws Exception {
        assertThat(run(sshd.ssh("shop", "exit 42"), null).code).isEqualTo(42);
        assertThat(run(sshd.ssh("shop", "kill -TERM $$"), null).code).isEqualTo(128 + 15);
        Result where = run(sshd.ssh("shop", "hostname; id -u; pwd; test -t 0 || echo no-tty"), null);
        assertThat(where.out).isEqualTo("shop\n" + SHOP_UID + "\n/home/shop\nno-tty\n");

        byte[] blob = new byte[3 << 20];
        new Random(7).nextBytes(blob);
        Result in = run(sshd.ssh("shop", "cat > blob && wc -c < blob"), blob);
        assertThat(in.out.trim()).isEqualTo(Integer.toString(blob.length));
        assertThat(Files.readAllBytes(emperor.homeOf("shop").resolve("blob"))).isEqualTo(blob);
        Result back = run(sshd.ssh("shop", "cat blob; printf 'err\\0\\377' >&2; exit 3"), null);
        assertThat(back.code).isEqualTo(3);
        assertThat(back.bytes).isEqualTo(blob);
        assertThat(back.err).isEqualTo("err\0\ufffd");
    }

    @Test
    void scpAndRsyncRoundTrip() throws Exception {
        Path work = Files.createDirectories(emperor.root().resolve("copies"));
        byte[] data = new byte[1 << 20];
        new Random(3).nextBytes(data);
        Files.write(work.resolve("up.bin"), data);
        List<String> scp = new ArrayList<>(List.of("scp", "-F", "/dev/null", "-P", Integer.toString(sshd.port())));
        scp.addAll(sshd.options());
        assertThat(run(concat(scp, work.resolve("up.bin").toString(), "shop@127.0.0.1:scp.bin"), null).code).isZero();
        assertThat(Files.readAllBytes(emperor.homeOf("shop").resolve("scp.bin"))).isEqualTo(data);
        assertThat(run(concat(scp, "shop@127.0.0.1:scp.bin", work.resolve("down.bin").toString()), null).code).isZero();
        assertThat(Files.readAllBytes(work.resolve("down.bin"))).isEqualTo(data);

        Path tree = Files.createDirectories(work.resolve("tree/sub"));
        Files.write(tree.resolve("a.bin"), data);
        Files.writeString(work.resolve("tree/b.txt"), "hello\n");
        Result up = run(List.of("rsync", "-a", "-e", sshd.rsh(), work.resolve("tree") + "/", "shop@127.0.0.1:tree/"), null);
        assertThat(up.code).as(up.err).isZero();
        assertThat(Files.readAllBytes(emperor.homeOf("shop").resolve("tree/sub/a.bin"))).isEqualTo(data);
        Result down = run(List.of("rsync", "-a", "-e", sshd.rsh(), "shop@127.0.0.1:tree/", work.resolve("back") + "/"), null);
        assertThat(down.code).as(down.err).isZero();
        assertThat(Files.readAllBytes(work.resolve("back/sub/a.bin"))).isEqualTo(data);
        assertThat(Files.readString(work.resolve("back/b.txt"))).isEqualTo("hello\n");
    }

    @Test
    void sftpRunsTheTenantsSftpServer() throws Exception {
        Path work = Files.createDirectories(emperor.root().resolve("sftp"));
        Files.writeString(work.resolve("put.txt"), "via sftp\n");
        Files.writeString(work.resolve("batch"), "put " + work.resolve("put.txt") + " put.txt\nls -1\nget put.txt "
                + work.resolve("got.txt") + "\n");
        List<String> sftp = new ArrayList<>(List.of("sftp", "-F", "/dev/null", "-P", Integer.toString(sshd.port()),
                "-b", work.resolve("batch").toString()));
        sftp.addAll(sshd.options());
        sftp.add("shop@127.0.0.1");
        Result r = run(sftp, null);
        assertThat(r.code).as(r.err).isZero();
        assertThat(Files.readString(emperor.homeOf("shop").resolve("put.txt"))).isEqualTo("via sftp\n");
        assertThat(Files.readString(work.resolve("got.txt"))).isEqualTo("via sftp\n");
    }

    @Test
    void aUserEntersOnlyItsOwnTenant() throws Exception {
        assertThat(run(sshd.ssh("other", "hostname"), null).out).isEqualTo("other\n");
        // Another tenant's user asking for shop by name, straight at the socket, is refused.
        Result r = run(List.of("setpriv", "--reuid", Integer.toString(OTHER_UID), "--regid", Integer.toString(OTHER_UID),
                "--clear-groups", "env", "SSH_ORIGINAL_COMMAND=hostname", CLIENT.toString(), "--socket",
                shellSocket.toString(), "shop"), null);
        assertThat(r.code).isNotZero();
        assertThat(r.err).contains("permission denied: uid " + OTHER_UID + " may enter only the tenant that runs as uid "
                + OTHER_UID);
        assertThat(r.out).isEmpty();
        // The answer names nothing: a tenant that exists, one that is stopped and one that does
        // not exist get the same bytes, so the socket cannot be used to list tenants.
        emperor.vassal("quiet", "exec = sleep 100000", "distro = busybox", "uid = 201005");
        emperor.waitForRunning("quiet");
        assertThat(emperor.command("stop", "quiet").code()).isZero();
        emperor.waitForState("quiet", "stopped", Duration.ofSeconds(30));
        for (String name : List.of("quiet", "nosuchtenant")) {
            Result other = run(List.of("setpriv", "--reuid", Integer.toString(OTHER_UID), "--regid",
                    Integer.toString(OTHER_UID), "--clear-groups", "env", "SSH_ORIGINAL_COMMAND=hostname", CLIENT.toString(),
                    "--socket", shellSocket.toString(), name), null);
            assertThat(other.code).as(name).isEqualTo(r.code);
            assertThat(other.err).as(name).isEqualTo(r.err);
            assertThat(other.out).as(name).isEmpty();
        }
    }

    @Test
    void rootsTerminalNeverEntersATenantAndNothingARootSessionStartedOutlivesIt() throws Exception {
        int processes = emperor.processesOf("shop").size();
        // `printf 'typed\n' | emperor shell shop CMD` from root's terminal; CMD leaves a process
        // behind in a session of its own, holding whatever its fds 0-2 were.
        Result r = run(List.of("python3", TESTS.resolve("root_terminal.py").toString(), CLIENT.toString(),
                shellSocket.toString(), "shop", "read line; echo \"got:$line\"; for fd in 0 1 2; do stat -L -c %d:%t:%T"
                        + " /proc/self/fd/$fd; done; setsid sh -c 'sleep 1000' & echo started"), null);
        assertThat(r.code).as(r.err).isZero();
        JsonNode session = new ObjectMapper().readTree(r.out);
        assertThat(session.get("code").asInt()).as(session.toString()).isZero();
        String terminal = session.get("terminal").asText();
        assertThat(terminal).contains("got:typed", "started"); // stdin relayed, output on root's terminal
        List<String> lines = List.of(terminal.split("\r?\n"));
        assertThat(lines).as("the fds seen inside").hasSizeGreaterThanOrEqualTo(5)
                .doesNotContain(session.get("host_terminal").asText());
        // Emptied before the client was told the exit: the setsid'd sleep is gone already.
        assertThat(emperor.processesOf("shop")).hasSize(processes);
    }

    @Test
    void rootsOwnFilesNeverEnterATenant() throws Exception {
        Path out = emperor.root().resolve("root-only.out");
        Path err = emperor.root().resolve("root-only.err");
        ProcessBuilder builder = new ProcessBuilder(CLIENT.toString(), "--socket", shellSocket.toString(), "shop")
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        // `emperor shell shop CMD > root-only.out` as root: the tenant must get a pipe, never root's file.
        builder.environment().put("SSH_ORIGINAL_COMMAND", "stat -L -c %d:%i /proc/self/fd/1; echo done");
        Process p = builder.start();
        p.getOutputStream().close();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(Files.readString(err)).isZero();
        String file = Files.getAttribute(out, "unix:dev") + ":" + Files.getAttribute(out, "unix:ino");
        String seen = Files.readString(out);
        assertThat(seen.lines().toList()).contains("done").hasSize(2).doesNotContain(file);
    }

    @Test
    void aFloodOfIdleConnectionsFromOneUidLocksNobodyOut() throws Exception {
        Process flood = new ProcessBuilder("setpriv", "--reuid", Integer.toString(GHOST_UID), "--regid",
                Integer.toString(GHOST_UID), "--clear-groups", "/usr/bin/python3", TESTS.resolve("flood.py").toString(), "idle",
                shellSocket.toString(), "530").redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            var lines = new java.io.BufferedReader(new java.io.InputStreamReader(flood.getInputStream()));
            assertThat(lines.readLine()).isEqualTo("open");
            // While the 530 connections are held: root gets in, and so does another tenant's user.
            Result root = run(List.of("env", "SSH_ORIGINAL_COMMAND=hostname", CLIENT.toString(), "--socket",
                    shellSocket.toString(), "shop"), null);
            assertThat(root.out).as(root.err).isEqualTo("shop\n");
            assertThat(run(sshd.ssh("other", "hostname"), null).out).isEqualTo("other\n");

            flood.getOutputStream().write('\n');
            flood.getOutputStream().flush();
            assertThat(lines.readLine()).isEqualTo("refused=522 pending=8: too many shell connections from uid "
                    + GHOST_UID + " that have not started (at most 8); try again later");
            assertThat(lines.readLine()).isEqualTo("pending closed=8"); // the emperor gave up on them
        } finally {
            flood.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void oneUidRunsAtMost32SessionsAndRootStillGetsIn() throws Exception {
        int processes = emperor.processesOf("shop").size();
        Process sessions = new ProcessBuilder("setpriv", "--reuid", Integer.toString(SHOP_UID), "--regid",
                Integer.toString(SHOP_UID), "--clear-groups", "/usr/bin/python3", TESTS.resolve("flood.py").toString(), "sessions",
                shellSocket.toString(), "33").redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            var lines = new java.io.BufferedReader(new java.io.InputStreamReader(sessions.getInputStream()));
            assertThat(lines.readLine()).isEqualTo("started=32 refused=1: too many shell sessions for uid " + SHOP_UID
                    + " (at most 32); try again later");
            Result root = run(List.of("env", "SSH_ORIGINAL_COMMAND=hostname", CLIENT.toString(), "--socket",
                    shellSocket.toString(), "shop"), null);
            assertThat(root.out).as(root.err).isEqualTo("shop\n");
        } finally {
            sessions.getOutputStream().close();
            sessions.waitFor(30, TimeUnit.SECONDS);
            sessions.destroyForcibly();
        }
        emperor.waitFor("the sessions' sleeps to be hung up", Duration.ofSeconds(30),
                () -> emperor.processesOf("shop").size() == processes);
    }

    @Test
    void unknownAndStoppedTenantsGetAClearMessage() throws Exception {
        Result ghost = run(sshd.ssh("ghost", "true"), null);
        assertThat(ghost.code).isNotZero();
        assertThat(ghost.err).contains("no tenant runs as uid " + GHOST_UID);

        emperor.vassal("pause", "exec = sleep 100000", "distro = busybox", "uid = 201004");
        emperor.waitForRunning("pause");
        assertThat(emperor.command("stop", "pause").code()).isZero();
        emperor.waitForState("pause", "stopped", Duration.ofSeconds(30));
        Result stopped = run(List.of("env", "SSH_ORIGINAL_COMMAND=true", CLIENT.toString(), "--socket",
                shellSocket.toString(), "pause"), null);
        assertThat(stopped.code).isNotZero();
        assertThat(stopped.err).contains("tenant pause is not running (stopped");
    }

    @Test
    void hostileClientsAndAbandonedSessionsLeakNothingAndLeaveTheTenantAlone() throws Exception {
        int payload = emperor.statusOf("shop").get("pid").asInt();
        long daemonFds = fdCount(emperor.daemonPid());
        int processes = emperor.processesOf("shop").size();

        Result r = run(List.of("python3", TESTS.resolve("hostile_client.py").toString(), shellSocket.toString(), "shop"), null);
        assertThat(r.code).as(r.err).isZero();
        assertThat(r.out).contains("garbage: bad request: short frame", "magic: bad request: not an emperor-shell frame",
                "version: bad request: protocol version 9", "length: bad request: frame length",
                "type: bad request: unexpected frame type 66", "truncated: bad request: ",
                "huge size: bad request: window size 60000x80", "bad TERM: bad request: bad TERM",
                "bad tenant: bad request: bad tenant name", "command without fds: bad request: a command request carries 3 fds",
                "too many fds: bad request: frame too large or too many fds",
                "fds with a terminal: bad request: a terminal request carries no fds",
                "abandoned: type 0x81", "SIGKILL asked: bad request: signal 9 is not forwarded");

        // The abandoned `sleep 1000`s are killed; the emperor holds no fd more than before.
        emperor.waitFor("the abandoned sessions' processes to be gone", Duration.ofSeconds(20),
                () -> emperor.processesOf("shop").size() == processes);
        emperor.waitFor("the emperor's fds to be back", Duration.ofSeconds(20),
                () -> fdCount(emperor.daemonPid()) <= daemonFds);
        // An abandoned terminal session: ssh killed mid-session, its pty is released.
        Process ssh = new ProcessBuilder(concat(List.of("script", "-qfc"),
                String.join(" ", sshd.ssh("shop", "-tt")), "/dev/null")).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        emperor.waitFor("the login shell", Duration.ofSeconds(20), () -> emperor.processesOf("shop").size() > processes);
        ssh.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        emperor.waitFor("the abandoned shell to be hung up", Duration.ofSeconds(20),
                () -> emperor.processesOf("shop").size() == processes);
        try (Stream<Path> ptys = Files.list(Path.of("/proc", Integer.toString(payload), "root/dev/pts"))) {
            assertThat(ptys.map(p -> p.getFileName().toString()).toList()).containsOnly("ptmx");
        }
        assertThat(emperor.statusOf("shop").get("pid").asInt()).isEqualTo(payload);
        assertThat(emperor.statusOf("shop").get("state").asText()).isEqualTo("running");
    }

    // ---- helpers ------------------------------------------------------------------------------

    private record Result(int code, String out, byte[] bytes, String err) {}

    private static Result run(List<String> cmd, byte[] stdin) throws Exception {
        Path err = Files.createTempFile("ssh-test", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
            Thread feeder = Thread.ofVirtual().start(() -> {
                try (var in = p.getOutputStream()) {
                    if (stdin != null) in.write(stdin);
                } catch (IOException ignored) {
                    // the command did not read it all: its exit code tells
                }
            });
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(cmd + " did not finish");
            }
            feeder.join();
            return new Result(p.exitValue(), new String(out), out,
                    new String(Files.readAllBytes(err), java.nio.charset.StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(err);
        }
    }

    private static long fdCount(long pid) {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return fds.count();
        } catch (IOException e) {
            return -1;
        }
    }

    private static List<String> concat(List<String> head, String... tail) {
        List<String> all = new ArrayList<>(head);
        all.addAll(Arrays.asList(tail));
        return all;
    }
}
