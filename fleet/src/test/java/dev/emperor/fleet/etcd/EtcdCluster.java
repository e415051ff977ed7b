package dev.emperor.fleet.etcd;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import java.util.UUID;

/**
 * A real etcd cluster for tests (Debian's etcd-server): N members on loopback ports, data under
 * {@code dir}, each member a process of ours that only we stop (by its own handle, never by name).
 */
public final class EtcdCluster implements AutoCloseable {
    private static final Path ETCD = Path.of("/usr/bin/etcd");

    private final Path dir;
    private final String token = "emperor-test-" + UUID.randomUUID();
    private final List<Member> members = new ArrayList<>();

    private final class Member {
        final String name;
        final int clientPort;
        final int peerPort;
        Process process;

        Member(String name, int clientPort, int peerPort) {
            this.name = name;
            this.clientPort = clientPort;
            this.peerPort = peerPort;
        }

        void start(boolean fresh) {
            List<String> cmd = List.of(ETCD.toString(), "--name", name, "--data-dir", dir.resolve(name).toString(),
                    "--listen-client-urls", "http://127.0.0.1:" + clientPort,
                    "--advertise-client-urls", "http://127.0.0.1:" + clientPort,
                    "--listen-peer-urls", "http://127.0.0.1:" + peerPort,
                    "--initial-advertise-peer-urls", "http://127.0.0.1:" + peerPort,
                    "--initial-cluster", initialCluster(), "--initial-cluster-token", token,
                    "--initial-cluster-state", fresh ? "new" : "existing",
                    "--heartbeat-interval", "100", "--election-timeout", "1000");
            try {
                process = new ProcessBuilder(cmd).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(name + ".log").toFile())).start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        void stop() {
            if (process == null) return;
            process.destroyForcibly();
            try {
                process.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            process = null;
        }
    }

    private EtcdCluster(Path dir, int size) {
        this.dir = dir;
        for (int i = 0; i < size; i++) members.add(new Member("m" + i, freePort(), freePort()));
    }

    /** Starts {@code size} members in {@code dir} and waits until each answers on its client port. */
    public static EtcdCluster start(Path dir, int size) throws IOException {
        if (!Files.isExecutable(ETCD)) throw new IllegalStateException(ETCD + " is missing: apt-get install etcd-server");
        Files.createDirectories(dir);
        EtcdCluster cluster = new EtcdCluster(dir, size);
        cluster.members.forEach(m -> m.start(true));
        cluster.awaitListening();
        return cluster;
    }

    private String initialCluster() {
        StringJoiner j = new StringJoiner(",");
        members.forEach(m -> j.add(m.name + "=http://127.0.0.1:" + m.peerPort));
        return j.toString();
    }

    /** The client URLs, e.g. for {@code fleet-etcd}. */
    public List<String> endpoints() {
        return members.stream().map(m -> "http://127.0.0.1:" + m.clientPort).toList();
    }

    public List<Integer> clientPorts() {
        return members.stream().map(m -> m.clientPort).toList();
    }

    /** Kills every member (SIGKILL: as a crash would). */
    public void stopAll() {
        members.forEach(Member::stop);
    }

    /** Starts every member again on its data. */
    public void startAll() {
        members.forEach(m -> m.start(false));
        awaitListening();
    }

    private void awaitListening() {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        for (Member m : members) {
            while (true) {
                try (Socket s = new Socket("127.0.0.1", m.clientPort)) {
                    break;
                } catch (IOException notYet) {
                    if (m.process != null && !m.process.isAlive()) {
                        throw new IllegalStateException("etcd member " + m.name + " exited; see " + dir.resolve(m.name + ".log"));
                    }
                    if (System.nanoTime() > deadline) throw new IllegalStateException("etcd member " + m.name + " does not listen");
                    sleep(50);
                }
            }
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        stopAll();
    }
}
