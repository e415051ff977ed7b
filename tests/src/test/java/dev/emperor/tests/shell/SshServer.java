package dev.emperor.tests.shell;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The host's real OpenSSH sshd on a loopback port, configured as the README tells operators:
 * ForceCommand runs {@code emperor-shell} for the tenants' users. It runs in a private mount
 * namespace ({@code unshare -m}) in which copies of /etc/passwd, /etc/shadow and /etc/group
 * with the test users are bind-mounted over the host's, so the host's user database is never
 * touched. Host and client keys live in a temporary directory; close() kills only its pid.
 */
public final class SshServer implements AutoCloseable {
    private final Path dir;
    private final int port;
    private final Process sshd;

    /** users: name -> uid (gid = uid); those in forced get the ForceCommand, others a plain login shell. */
    public SshServer(Path dir, Map<String, Integer> users, List<String> forced, String forceCommand) throws IOException {
        this.dir = Files.createDirectories(dir);
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.resolve("host_key").toString());
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.resolve("client_key").toString());
        Files.copy(dir.resolve("client_key.pub"), dir.resolve("authorized_keys"));

        StringBuilder passwd = new StringBuilder(Files.readString(Path.of("/etc/passwd")));
        StringBuilder shadow = new StringBuilder(Files.readString(Path.of("/etc/shadow")));
        StringBuilder group = new StringBuilder(Files.readString(Path.of("/etc/group")));
        for (var user : users.entrySet()) {
            Path home = Files.createDirectories(dir.resolve("home-" + user.getKey()));
            run("chown", user.getValue() + ":" + user.getValue(), home.toString());
            // sshd runs the ForceCommand with the user's shell: it must be a real one.
            passwd.append(user.getKey()).append(":x:").append(user.getValue()).append(':').append(user.getValue())
                    .append("::").append(home).append(":/bin/bash\n");
            shadow.append(user.getKey()).append(":*:19000:0:99999:7:::\n"); // '*': no password, not locked
            group.append(user.getKey()).append(":x:").append(user.getValue()).append(":\n");
        }
        Files.writeString(dir.resolve("passwd"), passwd);
        Files.writeString(dir.resolve("shadow"), shadow);
        Files.writeString(dir.resolve("group"), group);

        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        String config = """
                ListenAddress 127.0.0.1
                HostKey %1$s/host_key
                PidFile none
                UsePAM no
                StrictModes no
                AuthorizedKeysFile %1$s/authorized_keys
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                PrintMotd no
                PrintLastLog no
                Subsystem sftp /usr/lib/openssh/sftp-server
                Match User %2$s
                    ForceCommand %3$s
                """.formatted(dir, String.join(",", forced), forceCommand);
        Files.writeString(dir.resolve("sshd_config"), config);
        Files.createDirectories(Path.of("/run/sshd")); // sshd's privilege separation directory

        // unshare execs sh, which execs sshd: the pid we hold is sshd's.
        String script = "mount --make-rprivate / && for f in passwd shadow group; do mount --bind \"$1/$f\" /etc/$f || exit 1; done"
                + " && exec /usr/sbin/sshd -D -e -f \"$1/sshd_config\" -p \"$2\"";
        sshd = new ProcessBuilder("unshare", "-m", "sh", "-c", script, "sh", dir.toString(), Integer.toString(port))
                .redirectErrorStream(true).redirectOutput(dir.resolve("sshd.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                break;
            } catch (IOException notYet) {
                if (!sshd.isAlive() || System.nanoTime() > deadline) {
                    throw new IOException("sshd did not start: " + log());
                }
                sleep(50);
            }
        }
    }

    public int port() {
        return port;
    }

    /** ssh USER@127.0.0.1 with the test key and no host-key questions; then extra args. */
    public List<String> ssh(String user, String... args) {
        List<String> cmd = new ArrayList<>(List.of("ssh", "-F", "/dev/null", "-p", Integer.toString(port)));
        cmd.addAll(options());
        cmd.add(user + "@127.0.0.1");
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** The client options shared by ssh, scp and sftp. */
    public List<String> options() {
        return List.of("-i", dir.resolve("client_key").toString(), "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes");
    }

    /** For rsync -e. */
    public String rsh() {
        return "ssh -F /dev/null -p " + port + " " + String.join(" ", options());
    }

    public String log() {
        try {
            return Files.readString(dir.resolve("sshd.log"));
        } catch (IOException e) {
            return "(no sshd log)";
        }
    }

    @Override
    public void close() {
        sshd.destroy(); // SIGTERM to sshd's own pid
        try {
            if (!sshd.waitFor(10, TimeUnit.SECONDS)) {
                sshd.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void run(String... cmd) throws IOException {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (p.waitFor() != 0) throw new IOException(String.join(" ", cmd) + " failed: " + out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new IOException(e));
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
