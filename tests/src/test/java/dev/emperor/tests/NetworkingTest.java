package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Tenants' networking end to end: each tenant's tun0, routed by the emperor's pump and NATed
 * by the host to a server in a network namespace of this test's own (a veth pair away), the
 * wall between tenants, and the tun0 of an adopted tenant after the emperor was killed.
 */
class NetworkingTest {
    /**
     * Writes its addresses and routes, then runs each /run/request "N HOST PORT [SITE]" with nc:
     * sends "hello", or with SITE an HTTP/1.0 GET / for that Host; SITE "hold:K" opens K idle
     * connections that stay open (a minute), once they are established.
     */
    private static final String TENANT_SCRIPT = """
            ip addr > /run/ip-addr
            ip route > /run/ip-route
            while :; do
              if [ -f /run/request ]; then
                set -- $(cat /run/request)
                rm -f /run/request
                if [ "${4%%:*}" = hold ]; then
                  k=${4#hold:}; i=0
                  while [ $i -lt $k ]; do (sleep 60 | nc "$2" "$3" > /dev/null 2>&1 &); i=$((i+1)); done
                  established=$(printf ':%04X 01 ' "$3"); t=0
                  while [ $(grep -c "$established" /proc/net/tcp) -lt $k ] && [ $t -lt 100 ]; do usleep 100000; t=$((t+1)); done
                  grep -c "$established" /proc/net/tcp > /run/reply.$1
                  echo ok > /run/result.$1
                  continue
                fi
                # a request's sender waits for the answer before it closes (nc half-closes at its input's end)
                if [ -n "$4" ]; then msg=$(printf 'GET / HTTP/1.0\\r\\nHost: %s\\r\\n\\r' "$4"); hold=2; else msg=hello; hold=0; fi
                if { echo "$msg"; sleep $hold; } | nc -w 3 "$2" "$3" > /run/reply.tmp 2>&1; then r=ok; else r=failed; fi
                mv /run/reply.tmp /run/reply.$1
                echo $r > /run/result.$1
              fi
              usleep 200000
            done
            """;
    private static final String SERVER = """
            import socket, sys
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((sys.argv[1], int(sys.argv[2])))
            s.listen(16)
            print('ready', flush=True)
            while True:
                c, a = s.accept()
                c.settimeout(5)
                try:
                    c.recv(100)
                except OSError:
                    pass
                c.sendall((a[0] + '\\n').encode())
                c.close()
            """;
    private static final int PORT = 8080;

    private final String id = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(2);
    private final String netns = "entest" + id;
    private final String hostVeth = "evh" + id;
    private final int octet = ThreadLocalRandom.current().nextInt(256);
    private final String hostAddress = "10.214." + octet + ".1";
    private final String serverAddress = "10.214." + octet + ".2";
    private EmperorProcess emperor;
    private Process server;

    @BeforeEach
    void setUp() throws Exception {
        emperor = new EmperorProcess();
        sh("ip", "netns", "add", netns);
        sh("ip", "link", "add", hostVeth, "type", "veth", "peer", "name", "evn" + id);
        sh("ip", "link", "set", "evn" + id, "netns", netns);
        sh("ip", "addr", "add", hostAddress + "/30", "dev", hostVeth);
        sh("ip", "link", "set", hostVeth, "up");
        sh("ip", "-n", netns, "addr", "add", serverAddress + "/30", "dev", "evn" + id);
        sh("ip", "-n", netns, "link", "set", "evn" + id, "up");
        server = new ProcessBuilder("ip", "netns", "exec", netns, "python3", "-c", SERVER, serverAddress,
                Integer.toString(PORT)).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
        assertThat(out.readLine()).isEqualTo("ready");
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            if (server != null) {
                server.destroyForcibly();
                server.waitFor(10, TimeUnit.SECONDS);
            }
            emperor.close();
        } finally {
            quietly("ip", "netns", "del", netns);
            quietly("ip", "link", "del", hostVeth);
        }
        assertThat(Path.of("/sys/class/net", hostVeth)).doesNotExist();
        assertThat(Path.of("/sys/class/net", emperor.gatewayName())).doesNotExist();
        assertThat(run("nft", "list", "tables")).doesNotContain("emperor_" + emperor.gatewayName());
    }

    @Test
    void tenantsReachTheWorldThroughNatButNotEachOtherAndKeepTheirTunOverAnEmperorRestart() throws Exception {
        emperor.start();
        String alice = startTenant("alice");
        String bob = startTenant("bob");
        String gateway = emperor.tunSubnet().replace(".0/24", ".1");
        assertThat(alice).startsWith(emperor.tunSubnet().replace(".0/24", ".")).isNotEqualTo(bob);

        // tun0 holds the tenant's address; the default route leads to the gateway
        Path run = emperor.runDirOf("alice");
        emperor.waitFor("alice's ip output", Duration.ofSeconds(10), () -> Files.exists(run.resolve("ip-route")));
        assertThat(Files.readString(run.resolve("ip-addr"))).contains("tun0").contains("inet " + alice + "/24");
        assertThat(Files.readString(run.resolve("ip-route"))).contains("default via " + gateway + " dev tun0");
        assertThat(emperor.command("status", "alice").out()).contains("address:    " + alice);

        // the outside server sees the host's veth address: outbound NAT
        assertThat(connect("alice", 1, serverAddress)).isEqualTo("ok " + hostAddress);
        JsonNode afterServer = emperor.statusOf("alice");
        assertThat(afterServer.path("packetsOut").asLong()).isPositive();
        assertThat(afterServer.path("packetsIn").asLong()).isPositive();

        // tenant to tenant is refused by the router, and counted on the sender
        assertThat(connect("alice", 2, bob)).startsWith("failed");
        assertThat(emperor.statusOf("alice").path("drops").asLong()).isPositive();

        // kill -9: the tenant lives on; the next emperor re-opens its persistent tun0
        int pid = emperor.statusOf("alice").path("pid").asInt();
        emperor.kill9();
        emperor.start();
        assertThat(emperor.waitForRunning("alice").path("pid").asInt()).isEqualTo(pid);
        assertThat(connect("alice", 3, serverAddress)).isEqualTo("ok " + hostAddress);
        assertThat(emperor.statusOf("alice").path("address").asText()).isEqualTo(alice);
    }

    @Test
    void anOperatorFirewallRuleInUwsgiSyntaxBlocksAndSighupLiftsIt() throws Exception {
        String rule = "deny 0.0.0.0 " + serverAddress + " proto tcp port " + PORT;
        emperor.set("tuntap-router-firewall-out", rule).start();
        startTenant("carol");
        assertThat(connect("carol", 1, serverAddress)).startsWith("failed");
        assertThat(emperor.statusOf("carol").path("drops").asLong()).isPositive();

        // the same file without the rule, re-read on SIGHUP: the next connection passes
        String ini = Files.readString(emperor.configFile());
        EmperorProcess.write(emperor.configFile(), ini.replace("tuntap-router-firewall-out = " + rule + "\n", ""));
        new ProcessBuilder("kill", "-HUP", Long.toString(emperor.daemonPid())).start().waitFor();
        emperor.waitFor("the daemon to re-read its file", Duration.ofSeconds(10),
                () -> emperor.daemonOutput().contains("0 outbound and 0 inbound firewall rules"));
        assertThat(connect("carol", 2, serverAddress)).isEqualTo("ok " + hostAddress);
    }

    @Test
    void aVassalsOwnRuleAppliesWithoutARestartAndTenantsReachOnlyTheHostServicesOpened() throws Exception {
        // A host service listening on every address of the host, as most do.
        int hostPort = 18000 + ThreadLocalRandom.current().nextInt(1000);
        Process hostService = new ProcessBuilder("python3", "-c", SERVER, "0.0.0.0", Integer.toString(hostPort))
                .redirectErrorStream(true).start();
        try {
            assertThat(new BufferedReader(new InputStreamReader(hostService.getInputStream(), StandardCharsets.UTF_8))
                    .readLine()).isEqualTo("ready");
            emperor.set("tun-host-allow", "tcp " + hostPort).start();
            String gateway = emperor.tunSubnet().replace(".0/24", ".1");
            EmperorProcess.write(emperor.runDirOf("dave").resolve("net.sh"), TENANT_SCRIPT);
            String ownRule = "firewall-out = deny 0.0.0.0/0 " + serverAddress + " proto tcp port " + PORT;
            emperor.vassal("dave", "distro = busybox", "exec = sh /run/net.sh", ownRule);
            JsonNode status = emperor.waitForRunning("dave");
            int pid = status.path("pid").asInt();
            String dave = status.path("address").asText();

            assertThat(connect("dave", 1, serverAddress)).startsWith("failed");
            // the host: its opened service at the gateway address, and nothing at its other addresses
            assertThat(connect("dave", 2, gateway, hostPort)).isEqualTo("ok " + dave);
            assertThat(connect("dave", 3, hostAddress, hostPort)).startsWith("failed");

            // the panel drops the tenant's rule: applied to the running tenant, no restart
            emperor.vassal("dave", "distro = busybox", "exec = sh /run/net.sh");
            emperor.waitFor("the rule change to be applied", Duration.ofSeconds(10),
                    () -> emperor.command("events", "dave").out().contains("applied without a restart"));
            assertThat(connect("dave", 4, serverAddress)).isEqualTo("ok " + hostAddress);
            assertThat(emperor.statusOf("dave").path("pid").asInt()).isEqualTo(pid);
        } finally {
            hostService.destroyForcibly();
            hostService.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aTenantReachesTheProxyAndPublicPortsAtTheHostsAddressAsAnOutsideClientButNoOtherHostService() throws Exception {
        // the platform as in production: the proxy's HTTP on every address of the host, HTTPS on
        // one of them (this test's veth, standing for the host's public address), public ports on every address
        TenantWebApp.install(emperor);
        emperor.set("http-listen", "0.0.0.0:" + emperor.httpPort())
                .set("https-listen", hostAddress + ":" + emperor.httpsPort());
        // a service of the host on every address, published nowhere: no tenant may reach it
        int unrelatedPort = EmperorProcess.freePort();
        Process hostService = new ProcessBuilder("python3", "-c", SERVER, "0.0.0.0", Integer.toString(unrelatedPort))
                .redirectErrorStream(true).start();
        try {
            assertThat(new BufferedReader(new InputStreamReader(hostService.getInputStream(), StandardCharsets.UTF_8))
                    .readLine()).isEqualTo("ready");
            emperor.start();
            TenantWebApp.tenant(emperor, "shop", "domain = shop.test", "port = echo tcp 7000");
            String shop = emperor.waitForRunning("shop").path("address").asText();
            String alice = startTenant("alice");
            emperor.waitFor("shop.test to be served", Duration.ofSeconds(60),
                    () -> TenantWebApp.curl(emperor, "shop.test", false, "/").text().contains("hello from shop"));

            // another tenant's site by its public name at the host's address: the page, and the
            // proxy saw alice's own address (each tenant is a client of its own for the limits)
            assertThat(connect("alice", 1, hostAddress, emperor.httpPort(), "shop.test"))
                    .startsWith("ok HTTP/1.1 200").contains("hello from shop xff=" + alice);
            // the public port, on every address (opened to tenants once it listens), and HTTPS where it listens
            int publicPort = emperor.statusOf("shop").path("ports").get(0).path("publicPort").asInt();
            emperor.waitFor("the public port to be opened to tenants", Duration.ofSeconds(20),
                    () -> emperor.daemonOutput().contains("*:" + publicPort));
            assertThat(connect("alice", 2, hostAddress, publicPort)).isEqualTo("ok hello");
            assertThat(connect("alice", 3, hostAddress, emperor.httpsPort())).startsWith("ok");

            // nothing else of the host: not a service on the same address, not at the gateway,
            // not the host's loopback (a tenant's 127.0.0.1 is its own), and not the other tenant directly
            assertThat(connect("alice", 4, hostAddress, unrelatedPort)).startsWith("failed");
            String gateway = emperor.tunSubnet().replace(".0/24", ".1");
            assertThat(connect("alice", 5, gateway, unrelatedPort)).startsWith("failed");
            assertThat(connect("alice", 6, "127.0.0.1", emperor.httpPort())).startsWith("failed");
            assertThat(connect("alice", 7, shop, 7000)).startsWith("failed");
        } finally {
            hostService.destroyForcibly();
            hostService.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void eachTenantIsAClientOfItsOwnForTheProxysLimitsSoOneAtItsLimitLocksNoOtherOut() throws Exception {
        TenantWebApp.install(emperor);
        emperor.set("http-listen", "0.0.0.0:" + emperor.httpPort()).set("client-max-connections", "4").start();
        TenantWebApp.tenant(emperor, "shop", "domain = shop.test");
        emperor.waitForRunning("shop");
        String alice = startTenant("alice");
        String bob = startTenant("bob");
        emperor.waitFor("shop.test to be served", Duration.ofSeconds(60),
                () -> TenantWebApp.curl(emperor, "shop.test", false, "/").text().contains("hello from shop"));
        assertThat(connect("alice", 1, hostAddress, emperor.httpPort(), "shop.test")).contains("hello from shop xff=" + alice);

        // alice holds her 4 connections: her next one is closed at accept...
        assertThat(connect("alice", 2, hostAddress, emperor.httpPort(), "hold:4")).isEqualTo("ok 4");
        assertThat(connect("alice", 3, hostAddress, emperor.httpPort(), "shop.test")).doesNotContain("hello from shop");
        // ...and bob, another client to the proxy (not all tenants behind one NAT address), is served
        assertThat(connect("bob", 1, hostAddress, emperor.httpPort(), "shop.test")).contains("hello from shop xff=" + bob);
    }

    @Test
    void aTenantsTrafficTotalsNeverGoBackAcrossAnEmperorKillAndATenantRestart() throws Exception {
        emperor.start();
        startTenant("erin");
        assertThat(connect("erin", 1, serverAddress)).isEqualTo("ok " + hostAddress);
        JsonNode before = emperor.statusOf("erin");
        assertThat(before.path("packetsOut").asLong()).isPositive();
        assertThat(before.path("bytesIn").asLong()).isPositive();

        // kill -9: the tenant lives on and is adopted, its tun0 attached again; the totals stay
        int pid = before.path("pid").asInt();
        emperor.kill9();
        emperor.start();
        JsonNode adopted = emperor.waitForRunning("erin");
        assertThat(adopted.path("pid").asInt()).isEqualTo(pid);
        assertNotLower(adopted, before);

        // what crosses afterwards adds to them
        assertThat(connect("erin", 2, serverAddress)).isEqualTo("ok " + hostAddress);
        JsonNode more = emperor.statusOf("erin");
        assertThat(more.path("packetsOut").asLong()).isGreaterThan(before.path("packetsOut").asLong());
        assertThat(more.path("bytesIn").asLong()).isGreaterThan(before.path("bytesIn").asLong());

        // a new payload gets a new tun0: still the same totals
        assertThat(emperor.command("reload", "erin", "--wait", "30").code()).isZero();
        JsonNode reloaded = emperor.waitForRunning("erin");
        assertThat(reloaded.path("pid").asInt()).isNotEqualTo(pid);
        assertNotLower(reloaded, more);
    }

    private static void assertNotLower(JsonNode now, JsonNode earlier) {
        for (String counter : java.util.List.of("packetsIn", "packetsOut", "bytesIn", "bytesOut")) {
            assertThat(now.path(counter).asLong()).as(counter + " in " + now).isGreaterThanOrEqualTo(earlier.path(counter).asLong());
        }
    }

    /** Starts a tenant running {@link #TENANT_SCRIPT}; returns its address. */
    private String startTenant(String name) {
        EmperorProcess.write(emperor.runDirOf(name).resolve("net.sh"), TENANT_SCRIPT);
        emperor.vassal(name, "distro = busybox", "exec = sh /run/net.sh");
        JsonNode status = emperor.waitForRunning(name);
        assertThat(status.hasNonNull("address")).as(status.toString()).isTrue();
        return status.path("address").asText();
    }

    /** Has the tenant run `nc HOST PORT`; returns "ok REPLY" or "failed ...". */
    private String connect(String tenant, int n, String host) throws IOException {
        return connect(tenant, n, host, PORT);
    }

    private String connect(String tenant, int n, String host, int port) throws IOException {
        return connect(tenant, n, host, port, "");
    }

    /** With {@code site}: an HTTP GET / for that Host; returns "ok RESPONSE" or "failed ...". */
    private String connect(String tenant, int n, String host, int port, String site) throws IOException {
        Path run = emperor.runDirOf(tenant);
        EmperorProcess.writeAtomically(run.resolve("request"), n + " " + host + " " + port + " " + site + "\n");
        Path result = run.resolve("result." + n);
        emperor.waitFor(tenant + "'s connection " + n, Duration.ofSeconds(20), () -> Files.exists(result)
                && !Files.readString(result).isBlank());
        return Files.readString(result).strip() + " " + Files.readString(run.resolve("reply." + n)).strip();
    }

    private static void sh(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed: " + out);
        }
    }

    private static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(30, TimeUnit.SECONDS);
        return out;
    }

    private static void quietly(String... command) {
        try {
            run(command);
        } catch (Exception e) {
            // already gone
        }
    }

}
