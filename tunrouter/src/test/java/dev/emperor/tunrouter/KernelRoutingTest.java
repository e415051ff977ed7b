package dev.emperor.tunrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The whole path through the kernel, as root: two tenant network namespaces, each with a
 * {@code tun0} made through {@link NetnsThread}; a gateway tun in the host namespace; a
 * {@link PacketPump} between them; {@link NatTable} masquerading the tenant subnet; and an
 * "outside" namespace behind a veth pair running a TCP server (it answers with the peer address
 * it sees) and a UDP echo. Every name carries a random id, and everything is removed afterwards.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KernelRoutingTest {
    private static final Path IP_FORWARD = Path.of("/proc/sys/net/ipv4/ip_forward");
    private static final int TCP_PORT = 18080;
    private static final int UDP_PORT = 18081;

    private final String id = String.format("%06x", ThreadLocalRandom.current().nextInt(1 << 24));
    private final int octet = ThreadLocalRandom.current().nextInt(1, 255);
    private final String subnet = "10.211." + octet + ".0/24";
    private final String gatewayAddress = "10.211." + octet + ".1";
    private final String aliceAddress = "10.211." + octet + ".2";
    private final String bobAddress = "10.211." + octet + ".3";
    private final String hostVethAddress = "10.212." + octet + ".1";
    private final String outsideAddress = "10.212." + octet + ".2";
    private final String gatewayName = "emp-t-" + id + "g";
    private final String hostVeth = "emp-t-" + id + "h";
    private final String outsideVeth = "emp-t-" + id + "o";
    private final String aliceNs = "emperor-test-" + id + "-a";
    private final String bobNs = "emperor-test-" + id + "-b";
    private final String outsideNs = "emperor-test-" + id + "-o";
    private final NatTable nat = NatTable.named("test_" + id);

    private final List<String> namespaces = new ArrayList<>();
    private String oldIpForward;
    private TunDevice gateway;
    private TunDevice aliceTun;
    private TunDevice bobTun;
    private Router router;
    private PacketPump pump;
    private Process server;
    private int alice;

    @BeforeAll
    void setUp() throws Exception {
        oldIpForward = Files.readString(IP_FORWARD).strip();
        for (String ns : List.of(aliceNs, bobNs, outsideNs)) {
            run("ip", "netns", "add", ns);
            namespaces.add(ns);
        }
        run("ip", "link", "add", hostVeth, "type", "veth", "peer", "name", outsideVeth, "netns", outsideNs);
        run("ip", "addr", "add", hostVethAddress + "/30", "dev", hostVeth);
        run("ip", "link", "set", hostVeth, "up");
        run("ip", "netns", "exec", outsideNs, "ip", "addr", "add", outsideAddress + "/30", "dev", outsideVeth);
        run("ip", "netns", "exec", outsideNs, "ip", "link", "set", outsideVeth, "up");
        run("ip", "netns", "exec", outsideNs, "ip", "link", "set", "lo", "up");

        TenantSubnet tenants = TenantSubnet.parse(subnet);
        gateway = TunDevice.create(gatewayName);
        gateway.configure(tenants.gateway(), 24, 1500, 1000);

        router = new Router(new Firewall(tenants, FirewallRules.NONE, Verdict.ALLOW), 65535, true, true);
        alice = router.attach("alice", Cidr.parseAddress(aliceAddress), FirewallRules.NONE);
        int bob = router.attach("bob", Cidr.parseAddress(bobAddress), FirewallRules.NONE);
        aliceTun = tenantTun(aliceNs, aliceAddress);
        bobTun = tenantTun(bobNs, bobAddress);
        pump = new PacketPump(router, gateway.fd(), 256);
        pump.attach(alice, aliceTun.fd());
        pump.attach(bob, bobTun.fd());

        nat.install(tenants, gatewayName, List.of());

        String script = String.join("\n",
                "import socket, threading",
                "t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
                "t.bind(('" + outsideAddress + "', " + TCP_PORT + ")); t.listen(16)",
                "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('" + outsideAddress + "', " + UDP_PORT + "))",
                "def echo():",
                "    while True:",
                "        data, peer = u.recvfrom(2048); u.sendto(data, peer)",
                "threading.Thread(target=echo, daemon=True).start()",
                "while True:",
                "    c, peer = t.accept(); c.sendall(peer[0].encode()); c.close()");
        server = new ProcessBuilder("ip", "netns", "exec", outsideNs, "/usr/bin/python3", "-c", script)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        awaitServer();
    }

    private TunDevice tenantTun(String ns, String address) throws InterruptedException {
        return NetnsThread.call(Path.of("/run/netns", ns), () -> {
            TunDevice tun = TunDevice.create("tun0");
            try {
                tun.configure(Cidr.parseAddress(address), 24, 1500, 1000);
                tun.addDefaultRoute(Cidr.parseAddress(gatewayAddress));
            } catch (RuntimeException e) {
                tun.close();
                throw e;
            }
            return tun;
        });
    }

    /** The server is up once the host (which reaches it directly over the veth) can connect. */
    private void awaitServer() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try (Socket probe = new Socket()) {
                probe.connect(new InetSocketAddress(outsideAddress, TCP_PORT), 1000);
                probe.getInputStream().readAllBytes();
                return;
            } catch (IOException notYet) {
                if (System.nanoTime() > deadline || !server.isAlive()) {
                    throw new AssertionError("outside test server did not come up", notYet);
                }
                Thread.sleep(50);
            }
        }
    }

    @AfterAll
    void tearDown() throws Exception {
        List<String> problems = new ArrayList<>();
        if (pump != null) pump.close();
        for (TunDevice tun : new TunDevice[] {aliceTun, bobTun, gateway}) {
            if (tun != null) tun.close();
        }
        if (server != null) {
            server.destroy();
            server.waitFor(10, TimeUnit.SECONDS);
        }
        try {
            nat.remove();
        } catch (RuntimeException e) {
            problems.add(e.getMessage());
        }
        runQuietly(problems, "ip", "link", "del", hostVeth);
        for (String ns : namespaces) {
            runQuietly(problems, "ip", "netns", "del", ns);
        }
        if (oldIpForward != null) {
            Files.writeString(IP_FORWARD, oldIpForward + "\n");
        }
        // Other sessions may run tests with emp-t-/emperor-test- names at the same time: look for this run's id.
        assertThat(run("ip", "link", "show")).doesNotContain("emp-t-" + id);
        assertThat(run("ip", "netns", "list")).doesNotContain("emperor-test-" + id);
        assertThat(run("nft", "list", "tables")).doesNotContain(nat.table());
        assertThat(problems).isEmpty();
    }

    @Test
    void aTenantReachesAServerOutsideAndIsSeenFromTheHostsNatAddress() throws Exception {
        String seenAs = NetnsThread.call(Path.of("/run/netns", aliceNs), () -> {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(outsideAddress, TCP_PORT), 5000);
                socket.setSoTimeout(5000);
                return new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            }
        });
        System.out.println("outside server saw tenant alice (" + aliceAddress + ") as " + seenAs);
        assertThat(seenAs).isEqualTo(hostVethAddress);
        TenantCounters.Snapshot counted = router.counters(alice).snapshot();
        System.out.println("alice's counters: " + counted);
        assertThat(counted.packetsOut()).isPositive();
        assertThat(counted.bytesOut()).isGreaterThanOrEqualTo(counted.packetsOut() * 20);
        assertThat(counted.packetsIn()).isPositive();
        assertThat(counted.bytesIn()).isGreaterThanOrEqualTo(counted.packetsIn() * 20);
    }

    @Test
    void bulkTcpCrossesTheRouterAsSuperPacketsLargerThanTheMtuAndArrivesIntact() throws Exception {
        byte[] upload = new byte[8 << 20];
        byte[] download = new byte[8 << 20];
        ThreadLocalRandom.current().nextBytes(upload);
        ThreadLocalRandom.current().nextBytes(download);
        TenantCounters.Snapshot before = router.counters(alice).snapshot();
        long[] gatewayBefore = gatewayFrames();
        try (ServerSocket host = new ServerSocket(0, 1, InetAddress.getByName(gatewayAddress))) {
            // the host is closed to tenants but for the services opened at the gateway
            nat.install(TenantSubnet.parse(subnet), gatewayName, List.of(new HostService("tcp", host.getLocalPort(), host.getLocalPort())));
            CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> {
                try (Socket peer = host.accept()) {
                    byte[] got = peer.getInputStream().readAllBytes();
                    peer.getOutputStream().write(download);
                    return got;
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            // connected inside alice's namespace (a Socket makes its descriptor only on connect)
            Socket socket = NetnsThread.call(Path.of("/run/netns", aliceNs), () -> {
                Socket connected = new Socket();
                connected.connect(new InetSocketAddress(gatewayAddress, host.getLocalPort()), 5000);
                return connected;
            });
            try (socket) {
                socket.setSoTimeout(20000);
                socket.getOutputStream().write(upload);
                socket.shutdownOutput();
                // checksums are left to the kernels (offload): a wrong one would stall or corrupt this
                assertThat(socket.getInputStream().readAllBytes()).isEqualTo(download);
            }
            assertThat(received.get(20, TimeUnit.SECONDS)).isEqualTo(upload);
        } finally {
            nat.install(TenantSubnet.parse(subnet), gatewayName, List.of());
        }
        TenantCounters.Snapshot after = router.counters(alice).snapshot();
        long[] gatewayAfter = gatewayFrames();
        // the gateway tun's own statistics count frames as written: super-packets, unsplit
        long framesOut = gatewayAfter[0] - gatewayBefore[0];
        long framesIn = gatewayAfter[2] - gatewayBefore[2];
        long bytesOut = gatewayAfter[1] - gatewayBefore[1];
        long bytesIn = gatewayAfter[3] - gatewayBefore[3];
        System.out.printf("16 MiB over TCP: %d frames out (%d bytes each on average), %d in (%d);"
                + " counted as %d packets out, %d in%n", framesOut, bytesOut / framesOut, framesIn, bytesIn / framesIn,
                after.packetsOut() - before.packetsOut(), after.packetsIn() - before.packetsIn());
        // 1500-byte frames (and the ACKs between them) would average below the MTU
        assertThat(bytesOut / framesOut).isGreaterThan(1500);
        assertThat(bytesIn / framesIn).isGreaterThan(1500);
        // ...but the tenant's counters say what the wire carries: 8 MiB takes at least 8 MiB / 1500 packets
        assertThat(after.packetsOut() - before.packetsOut()).isGreaterThanOrEqualTo(upload.length / 1500);
        assertThat(after.packetsIn() - before.packetsIn()).isGreaterThanOrEqualTo(download.length / 1500);
        assertThat(after.bytesOut() - before.bytesOut()).isGreaterThan(upload.length);
    }

    /**
     * The gateway tun's frames as the kernel counts them: {rx packets, rx bytes, tx packets, tx
     * bytes}; rx is what the pump wrote to it (from tenants), tx what it read (to tenants).
     */
    private long[] gatewayFrames() throws IOException {
        Path stats = Path.of("/sys/class/net", gatewayName, "statistics");
        long[] values = new long[4];
        String[] names = {"rx_packets", "rx_bytes", "tx_packets", "tx_bytes"};
        for (int i = 0; i < 4; i++) values[i] = Long.parseLong(Files.readString(stats.resolve(names[i])).strip());
        return values;
    }

    @Test
    void aTenantsUdpIsEchoedBack() throws Exception {
        String echoed = NetnsThread.call(Path.of("/run/netns", aliceNs), () -> {
            try (DatagramSocket socket = new DatagramSocket()) {
                socket.setSoTimeout(5000);
                byte[] hello = "hello from alice".getBytes(StandardCharsets.US_ASCII);
                socket.send(new DatagramPacket(hello, hello.length, InetAddress.getByName(outsideAddress), UDP_PORT));
                DatagramPacket reply = new DatagramPacket(new byte[2048], 2048);
                socket.receive(reply);
                return new String(reply.getData(), 0, reply.getLength(), StandardCharsets.US_ASCII);
            }
        });
        assertThat(echoed).isEqualTo("hello from alice");
    }

    @Test
    void aTenantCannotReachAnotherTenant() throws Exception {
        long before = drops(DropReason.TENANT_TO_TENANT);
        // Were the SYN delivered, bob's kernel would answer with a reset ("refused"): a timeout means it never arrived.
        assertThatThrownBy(() -> NetnsThread.call(Path.of("/run/netns", aliceNs), () -> {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(bobAddress, TCP_PORT), 1500);
                return null;
            }
        })).hasRootCauseInstanceOf(SocketTimeoutException.class);
        assertThat(drops(DropReason.TENANT_TO_TENANT)).isGreaterThan(before);
    }

    @Test
    void theCloudMetadataAddressIsUnreachable() throws Exception {
        long before = drops(DropReason.FIREWALL);
        assertThatThrownBy(() -> NetnsThread.call(Path.of("/run/netns", aliceNs), () -> {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("169.254.169.254", 80), 1500);
                return null;
            }
        })).hasRootCauseInstanceOf(SocketTimeoutException.class);
        assertThat(drops(DropReason.FIREWALL)).isGreaterThan(before);
    }

    @Test
    void aPacketWithAnotherSourceAddressIsDroppedAsSpoofed() throws Exception {
        String spoofed = "10.211." + octet + ".99";
        run("ip", "netns", "exec", aliceNs, "ip", "addr", "add", spoofed + "/32", "dev", "tun0");
        long before = drops(DropReason.SPOOFED_SOURCE);
        NetnsThread.call(Path.of("/run/netns", aliceNs), () -> {
            try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(spoofed, 0))) {
                byte[] data = "not me".getBytes(StandardCharsets.US_ASCII);
                socket.send(new DatagramPacket(data, data.length, InetAddress.getByName(outsideAddress), UDP_PORT));
            }
            return null;
        });
        awaitAbove(() -> drops(DropReason.SPOOFED_SOURCE), before);
    }

    @Test
    void theHostIsClosedToTenantsButTheServicesOpenedAtTheGateway() throws Exception {
        // A host service listening on every address, as most do.
        try (java.net.ServerSocket hostService = new java.net.ServerSocket()) {
            hostService.bind(new InetSocketAddress("0.0.0.0", 0));
            int port = hostService.getLocalPort();
            Thread acceptor = Thread.ofPlatform().daemon().start(() -> {
                while (true) {
                    try (Socket c = hostService.accept()) {
                        c.getOutputStream().write('!');
                    } catch (IOException closed) {
                        return;
                    }
                }
            });
            try {
                assertThat(reaches(gatewayAddress, port)).as("gateway, nothing opened").isFalse();
                assertThat(reaches(hostVethAddress, port)).as("another host address").isFalse();

                nat.install(TenantSubnet.parse(subnet), gatewayName, List.of(HostService.parse("tcp " + port)));
                assertThat(reaches(gatewayAddress, port)).as("gateway, service opened").isTrue();
                assertThat(reaches(hostVethAddress, port)).as("another host address, service opened").isFalse();
                // the host's own connections into a tenant still work (its replies are "established")
                try (java.net.ServerSocket inAlice = NetnsThread.call(Path.of("/run/netns", aliceNs),
                        () -> new java.net.ServerSocket(0, 1, InetAddress.getByName(aliceAddress)));
                        Socket fromHost = new Socket()) {
                    fromHost.connect(new InetSocketAddress(aliceAddress, inAlice.getLocalPort()), 3000);
                    try (Socket accepted = inAlice.accept()) {
                        accepted.getOutputStream().write('!');
                        fromHost.setSoTimeout(3000);
                        assertThat(fromHost.getInputStream().read()).isEqualTo('!');
                    }
                }
            } finally {
                nat.install(TenantSubnet.parse(subnet), gatewayName, List.of());
                hostService.close();
                acceptor.join(5000);
            }
        }
    }

    /** Whether tenant alice gets the host service's '!' from address:port within 1.5 s. */
    private boolean reaches(String address, int port) throws Exception {
        return NetnsThread.call(Path.of("/run/netns", aliceNs), () -> {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(address, port), 1500);
                socket.setSoTimeout(1500);
                return socket.getInputStream().read() == '!';
            } catch (IOException e) {
                return false;
            }
        });
    }

    private long drops(DropReason reason) {
        return router.counters(alice).snapshot().drops(reason);
    }

    /** The pump counts on its own thread: wait (a while at most) for the count to move. */
    private static void awaitAbove(LongSupplier counter, long before) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (counter.getAsLong() <= before && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(counter.getAsLong()).isGreaterThan(before);
    }

    private static String run(String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed: " + output);
        }
        return output;
    }

    private static void runQuietly(List<String> problems, String... command) {
        try {
            run(command);
        } catch (Throwable t) {
            problems.add(t.getMessage());
        }
    }
}
