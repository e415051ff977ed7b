package dev.emperor.supervisor.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class EmperorConfigTest {
    @TempDir
    Path dir;

    private EmperorConfig load(String content) throws Exception {
        return EmperorConfig.load(Files.writeString(dir.resolve("emperor.ini"), content));
    }

    private String error(String content) throws Exception {
        Path file = Files.writeString(dir.resolve("emperor.ini"), content);
        try {
            EmperorConfig.load(file);
        } catch (ConfigError e) {
            return e.getMessage().substring(file.toString().length());
        }
        throw new AssertionError("expected a ConfigError");
    }

    @Test
    void defaultsFollowLinuxConventions() {
        EmperorConfig d = EmperorConfig.defaults();
        assertThat(d.vassalsDir()).isEqualTo(Path.of("/etc/emperor/vassals"));
        assertThat(d.stateDir()).isEqualTo(Path.of("/var/lib/emperor"));
        assertThat(d.runDir()).isEqualTo(Path.of("/run/emperor"));
        assertThat(d.logDir()).isEqualTo(Path.of("/var/log/emperor"));
        assertThat(d.distroDir()).isEqualTo(Path.of("/var/lib/emperor/distros"));
        assertThat(d.homeDir()).isEqualTo(Path.of("/var/lib/emperor/homes"));
        assertThat(d.optDir()).isEmpty();
        assertThat(d.cgroup()).isEqualTo("emperor");
        assertThat(d.uidRange()).isEqualTo(new EmperorConfig.UidRange(100_000, 199_999));
        assertThat(d.uidRange().size()).isEqualTo(100_000);
        assertThat(d.stopGrace()).isEqualTo(Duration.ofSeconds(10));
        assertThat(d.backoffMax()).isEqualTo(Duration.ofSeconds(60));
        assertThat(d.rescan()).isEqualTo(Duration.ofSeconds(10));
        assertThat(d.logMaxSize()).isEqualTo(10L << 20);
        assertThat(d.logKeep()).isEqualTo(5);
        assertThat(d.controlSocket()).isEqualTo(Path.of("/run/emperor/control.sock"));
        assertThat(d.tmpSize()).isEqualTo(64L << 20);
    }

    @Test
    void ksmRunIsOffUnlessSetAndReadsAutoAndOn() throws Exception {
        assertThat(EmperorConfig.defaults().ksmRun()).as("the host's ksmd is left alone by default").isEqualTo(KsmRun.OFF);
        assertThat(load("[emperor]\nksm-run = auto\n").ksmRun()).isEqualTo(KsmRun.AUTO);
        assertThat(load("[emperor]\nksm-run = on\n").ksmRun()).isEqualTo(KsmRun.ON);
    }

    @Test
    void anEmptyFileGivesTheDefaults() throws Exception {
        assertThat(load("")).isEqualTo(EmperorConfig.defaults());
        assertThat(load("[emperor]\n; nothing set\n")).isEqualTo(EmperorConfig.defaults());
    }

    @Test
    void everyKeyIsRead() throws Exception {
        EmperorConfig c = load("""
                [emperor]
                vassals = /srv/vassals
                state-dir = /srv/state
                run-dir = /srv/run
                log-dir = /srv/log
                distro-dir = /srv/distros
                home-dir = /srv/homes
                opt-dir = /srv/opt
                cgroup = /system.slice/emperor.service
                uid-range = 200000-200999
                stop-grace = 500ms
                backoff-max = 5m
                rescan = 30
                log-max-size = 1G
                log-keep = 0
                log-rate = 64K
                control-socket = /srv/run/ctl.sock
                tmp-size = 128M
                disk-default = 2G
                inodes-default = 1000
                on-exit = stop
                tun-subnet = 10.77.0.0/20
                tun-gateway = gw_test
                """);
        assertThat(c).isEqualTo(EmperorConfig.builder().vassalsDir(Path.of("/srv/vassals")).stateDir(Path.of("/srv/state"))
                .runDir(Path.of("/srv/run")).logDir(Path.of("/srv/log")).distroDir(Path.of("/srv/distros"))
                .homeDir(Path.of("/srv/homes")).optDir(Optional.of(Path.of("/srv/opt")))
                .cgroup("/system.slice/emperor.service").uidRange(new EmperorConfig.UidRange(200_000, 200_999))
                .stopGrace(Duration.ofMillis(500)).backoffMax(Duration.ofMinutes(5)).rescan(Duration.ofSeconds(30))
                .logMaxSize(1L << 30).logKeep(0).logRate(64L << 10).controlSocket(Path.of("/srv/run/ctl.sock"))
                .tmpSize(128L << 20).diskDefault(new DiskQuota(2L << 30, 1000)).stopVassalsOnExit(true)
                .tunSubnet(dev.emperor.tunrouter.Cidr.parse("10.77.0.0/20")).tunGateway("gw_test")
                .proxy(ProxySettings.defaults(Path.of("/srv/state"), Path.of("/srv/log"))).build());
    }

    @Test
    void retainIsInDaysOrADurationWithItsUnitAndABadValueNamesItsLine() throws Exception {
        assertThat(load("[emperor]\nretain = 7\n").retain()).isEqualTo(Duration.ofDays(7));
        assertThat(load("[emperor]\nretain = 90d\n").retain()).isEqualTo(Duration.ofDays(90));
        assertThat(load("[emperor]\nretain = 0\n").retain()).isZero();
        assertThat(load("[emperor]\nretain = 2s\n").retain()).isEqualTo(Duration.ofSeconds(2));
        assertThat(load("[emperor]\nretain = 12h\n").retain()).isEqualTo(Duration.ofHours(12));
        assertThat(load("[emperor]\n").retain()).isEqualTo(Duration.ofDays(30));
        assertThat(error("[emperor]\n\nretain = -1\n")).startsWith(":3: retain: bad retention '-1'");
        assertThat(error("[emperor]\nretain = forever\n")).startsWith(":2: retain: bad retention 'forever'");
    }

    @Test
    void domainAllowRepeatsIsNormalizedAndABadPatternNamesItsLine() throws Exception {
        assertThat(load("[emperor]\n").proxy().domainAllow()).isEmpty();
        EmperorConfig c = load("""
                [emperor]
                domain-allow = *.Platform.Example.
                domain-allow = shop.example
                """);
        assertThat(c.proxy().domainAllow()).containsExactly("*.platform.example", "shop.example");
        assertThatThrownBy(() -> load("""
                [emperor]
                domain-allow = *.platform.example
                domain-allow = *
                """)).hasMessageContaining(":3: domain-allow:");
    }

    @Test
    void hostServicesRepeatAndABadOneNamesItsLine() throws Exception {
        EmperorConfig c = load("""
                [emperor]
                tun-host-allow = udp 53
                tun-host-allow = tcp 8000-8099
                """);
        assertThat(c.hostServices()).containsExactly(new dev.emperor.tunrouter.HostService("udp", 53, 53),
                new dev.emperor.tunrouter.HostService("tcp", 8000, 8099));
        assertThatThrownBy(() -> load("""
                [emperor]
                tun-host-allow = udp 53
                tun-host-allow = sctp 9
                """)).hasMessageContaining(":3: tun-host-allow: protocol 'sctp' must be tcp or udp");
    }

    @Test
    void firewallRulesInUwsgiSyntaxRepeatAndKeepTheirOrder() throws Exception {
        EmperorConfig c = load("""
                [emperor]
                tuntap-router-firewall-out = allow 10.200.0.0/16 192.168.1.1
                tuntap-router-firewall-in = deny 0.0.0.0 10.200.0.0/16 proto tcp port 22
                tuntap-router-firewall-out = deny 10.200.0.0/16 192.168.0.0/16
                """);
        assertThat(c.firewall().out()).extracting(r -> r.text())
                .containsExactly("allow 10.200.0.0/16 192.168.1.1", "deny 10.200.0.0/16 192.168.0.0/16");
        assertThat(c.firewall().in()).extracting(r -> r.text())
                .containsExactly("deny 0.0.0.0 10.200.0.0/16 proto tcp port 22");
        assertThat(c.firewall().out().get(1).origin()).endsWith("emperor.ini:4");
    }

    @Test
    void aBadFirewallRuleNamesItsLineAndTheRule() {
        assertThatThrownBy(() -> load("[emperor]\ntuntap-router-firewall-out = allow 10.0.0.0/33 0.0.0.0\n"))
                .isInstanceOf(ConfigError.class)
                .hasMessageContaining(":2: tuntap-router-firewall-out: bad rule 'allow 10.0.0.0/33 0.0.0.0':")
                .hasMessageContaining("/33");
    }

    @Test
    void badTunSettingsAreRefusedNamingTheLine() {
        assertThatThrownBy(() -> load("[emperor]\ntun-subnet = 10.77.0.5/16\n"))
                .hasMessageContaining(":2: tun-subnet:").hasMessageContaining("host bits");
        assertThatThrownBy(() -> load("[emperor]\ntun-subnet = 10.0.0.0/31\n"))
                .hasMessageContaining(":2: tun-subnet:").hasMessageContaining("/8 to /30");
        assertThatThrownBy(() -> load("[emperor]\ntun-gateway = Emperor-0\n"))
                .hasMessageContaining(":2: tun-gateway:").hasMessageContaining("a-z, 0-9");
    }

    @Test
    void relativePathsAreTakenFromTheIniFilesDirectory() throws Exception {
        EmperorConfig c = load("[emperor]\nvassals = vassals\nstate-dir = ./state/../var\nopt-dir = opt\n");
        assertThat(c.vassalsDir()).isEqualTo(dir.resolve("vassals"));
        assertThat(c.stateDir()).isEqualTo(dir.resolve("var"));
        assertThat(c.optDir()).contains(dir.resolve("opt"));
    }

    @Test
    void homesDistrosAndTheControlSocketFollowStateAndRunDirs() throws Exception {
        EmperorConfig c = load("[emperor]\nstate-dir = /srv/state\nrun-dir = /srv/run\n");
        assertThat(c.homeDir()).isEqualTo(Path.of("/srv/state/homes"));
        assertThat(c.distroDir()).isEqualTo(Path.of("/srv/state/distros"));
        assertThat(c.controlSocket()).isEqualTo(Path.of("/srv/run/control.sock"));
    }

    @Test
    void aCgroupNameIsASubtreeName() throws Exception {
        assertThat(load("[emperor]\ncgroup = emperor-test-1a2b\n").cgroup()).isEqualTo("emperor-test-1a2b");
    }

    @Test
    void uidRangeMayHoldOneId() throws Exception {
        EmperorConfig.UidRange range = load("[emperor]\nuid-range = 5000 - 5000\n").uidRange();
        assertThat(range.size()).isEqualTo(1);
        assertThat(range.contains(5000)).isTrue();
        assertThat(range.contains(5001)).isFalse();
        assertThat(range).hasToString("5000-5000");
    }

    @Test
    void proxyKeysAreReadAndDefaultFromStateAndLogDirs() throws Exception {
        ProxySettings d = load("[emperor]\nstate-dir = /srv/state\nlog-dir = /srv/log\n").proxy();
        assertThat(d.httpListen()).containsExactly(new java.net.InetSocketAddress(80));
        assertThat(d.httpsListen()).containsExactly(new java.net.InetSocketAddress(443));
        assertThat(d.certDir()).isEqualTo(Path.of("/srv/state/certs"));
        assertThat(d.accessLogDir()).isEqualTo(Path.of("/srv/log/access"));
        assertThat(d.portLow()).isEqualTo(20000);
        assertThat(d.portHigh()).isEqualTo(29999);

        ProxySettings p = load("""
                [emperor]
                http-listen = 127.0.0.1:8080, [::1]:8081
                https-listen = off
                platform-domain = Hosting.Example.com
                tls-cert = /etc/tls/wild.pem
                tls-key = /etc/tls/wild.key
                port-range = 30000-30009
                """).proxy();
        assertThat(p.httpListen()).containsExactly(new java.net.InetSocketAddress("127.0.0.1", 8080),
                new java.net.InetSocketAddress("::1", 8081));
        assertThat(p.httpsListen()).isEmpty();
        assertThat(p.platformDomain()).contains("hosting.example.com");
        assertThat(p.tlsCert()).contains(Path.of("/etc/tls/wild.pem"));
        assertThat(p.portLow()).isEqualTo(30000);
    }

    @Test
    void portCapsAreReadAndTheOperatorsPerVassalLinesRepeat() throws Exception {
        assertThat(load("[emperor]\n").proxy().portLimits()).isEqualTo(dev.emperor.proxy.l4.PortLimits.DEFAULT);
        EmperorConfig c = load("""
                [emperor]
                max-ports = 2
                max-ports-for = shop 20
                max-ports-for = blog   0
                """);
        assertThat(c.proxy().portLimits()).isEqualTo(new dev.emperor.proxy.l4.PortLimits(2, java.util.Map.of("shop", 20, "blog", 0)));
        assertThat(c.proxy().portLimits().of("other")).isEqualTo(2);
    }

    @Test
    void badPortCapsNameTheirLine() {
        assertThatThrownBy(() -> load("[emperor]\nmax-ports = many\n"))
                .hasMessageContaining("emperor.ini:2").hasMessageContaining("max-ports").hasMessageContaining("0 to 65535");
        assertThatThrownBy(() -> load("[emperor]\nmax-ports-for = shop\n"))
                .hasMessageContaining("max-ports-for").hasMessageContaining("'NAME N'");
        assertThatThrownBy(() -> load("[emperor]\nmax-ports-for = Shop! 3\n"))
                .hasMessageContaining("'NAME N'");
        assertThatThrownBy(() -> load("[emperor]\nmax-ports-for = shop 3\nmax-ports-for = shop 4\n"))
                .hasMessageContaining("emperor.ini:3").hasMessageContaining("shop is given a port limit twice");
        assertThatThrownBy(() -> load("[emperor]\nmax-ports-for = shop 70000\n"))
                .hasMessageContaining("bad number of ports '70000'");
    }

    @Test
    void portListenTakesAddressLiteralsIpv4AndIpv6() throws Exception {
        assertThat(load("").proxy().portListen()).as("default: every address").isEmpty();
        assertThat(load("[emperor]\nport-listen = 127.0.0.2, ::1,[2001:db8::7]\n").proxy().portListen())
                .containsExactly(java.net.InetAddress.getByName("127.0.0.2"), java.net.InetAddress.getByName("::1"),
                        java.net.InetAddress.getByName("2001:db8::7"));
    }

    @Test
    void badPortListenNamesItsLineAndKey() {
        for (String bad : new String[] {"localhost", "127.0.0.2:80", "127.0.0.2,", "300.1.1.1", "fe80::1%eth0", "*"}) {
            assertThatThrownBy(() -> load("[emperor]\n\nport-listen = " + bad + "\n")).as(bad)
                    .hasMessageContaining("emperor.ini:3").hasMessageContaining("port-listen")
                    .hasMessageContaining("expected IP address literals");
        }
        assertThatThrownBy(() -> load("[emperor]\nport-listen =\n")).hasMessageContaining("port-listen: empty value");
        assertThatThrownBy(() -> load("[emperor]\nport-listen = 127.0.0.2, 127.0.0.2\n"))
                .hasMessageContaining("emperor.ini:2").hasMessageContaining("'127.0.0.2' is listed twice");
    }

    @Test
    void badProxyValuesNameTheirLineAndKey() {
        assertThatThrownBy(() -> load("[emperor]\nhttp-listen = localhost:80\n"))
                .hasMessageContaining("emperor.ini:2").hasMessageContaining("http-listen")
                .hasMessageContaining("ADDRESS:PORT");
        assertThatThrownBy(() -> load("[emperor]\nhttps-listen = 0.0.0.0:70000\n"))
                .hasMessageContaining("https-listen").hasMessageContaining("not from 1 to 65535");
        assertThatThrownBy(() -> load("[emperor]\nport-range = 30000-20000\n"))
                .hasMessageContaining("port-range");
        assertThatThrownBy(() -> load("[emperor]\n\ntls-key = /k.pem\n"))
                .hasMessageContaining("emperor.ini:3").hasMessageContaining("tls-cert and tls-key go together");
        assertThatThrownBy(() -> load("[emperor]\nplatform-domain = localhost\n"))
                .hasMessageContaining("platform-domain").hasMessageContaining("two labels");
    }

    @Test
    void clientLimitsAreReadAndReachTheProxyOptions() throws Exception {
        assertThat(load("").proxy().clientLimits()).isEqualTo(ClientLimits.defaults());
        ClientLimits limits = load("""
                [emperor]
                client-header-timeout = 3s
                client-idle-timeout = 30s
                client-min-rate = 1K
                client-rate-grace = 1500ms
                upstream-timeout = 2m
                """).proxy().clientLimits();
        assertThat(limits).isEqualTo(new ClientLimits(Duration.ofSeconds(3), Duration.ofSeconds(30), 1024,
                Duration.ofMillis(1500), Duration.ofMinutes(2)));
        dev.emperor.proxy.ProxyOptions options = limits.applyTo(dev.emperor.proxy.ProxyOptions.defaults());
        assertThat(options.headerReadTimeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(options.idleTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(options.minDataRate()).isEqualTo(1024);
        assertThat(options.rateGrace()).isEqualTo(Duration.ofMillis(1500));
        assertThat(options.upstreamResponseTimeout()).isEqualTo(Duration.ofMinutes(2));
        assertThat(load("[emperor]\nclient-min-rate = 0\n").proxy().clientLimits().minRate()).isZero();
    }

    @Test
    void connectionLimitsAndUnderscoresAreReadAndTheTotalStaysBelowTheOpenFileLimit() throws Exception {
        ClientLimits defaults = load("").proxy().clientLimits();
        assertThat(defaults.connectionLimits(1_048_576))
                .isEqualTo(new dev.emperor.proxy.ConnectionLimits(256, 64, (1_048_576 - 131_072) / 2));
        assertThat(defaults.underscoresInHeaders()).isFalse();
        ClientLimits limits = load("""
                [emperor]
                client-max-connections = 100
                client-max-connections-per-site = 10
                max-connections = 50000
                underscores-in-headers = true
                """).proxy().clientLimits();
        // 50000 fits under 1 Mi descriptors; under 65536 only (65536 - 8192) / 2 = 28672 do
        assertThat(limits.connectionLimits(1_048_576)).isEqualTo(new dev.emperor.proxy.ConnectionLimits(100, 10, 50000));
        assertThat(limits.connectionLimits(65_536).total()).isEqualTo(28_672);
        // ... and that limit cannot carry 50000 at all: the emperor refuses it, naming the key
        assertThat(limits.fdLimitProblem(1_048_576)).isEmpty();
        assertThat(limits.fdLimitProblem(65_536)).get().asString()
                .startsWith("max-connections = 50000 is more than the open-file limit 65536 carries: at most 28672");
        // with 100 tenants, 1600 more descriptors are kept for them
        assertThat(limits.connectionLimits(65_536, 100).total()).isEqualTo(28_672 - 800);
        dev.emperor.proxy.ProxyOptions options = limits.applyTo(dev.emperor.proxy.ProxyOptions.defaults(), 1_048_576);
        assertThat(options.underscoresInHeaders()).isTrue();
        assertThat(options.connections().perClient()).isEqualTo(100);
        assertThatThrownBy(() -> load("[emperor]\nclient-max-connections = 0\n"))
                .hasMessageContaining("emperor.ini:2").hasMessageContaining("client-max-connections")
                .hasMessageContaining("expected 1 to 1000000");
        assertThatThrownBy(() -> load("[emperor]\nmax-connections = lots\n"))
                .hasMessageContaining("max-connections").hasMessageContaining("bad number of connections 'lots'");
        assertThatThrownBy(() -> load("[emperor]\nunderscores-in-headers = maybe\n"))
                .hasMessageContaining("underscores-in-headers").hasMessageContaining("expected true or false");
    }

    @Test
    void badClientLimitsNameTheirLineAndKey() {
        assertThatThrownBy(() -> load("[emperor]\n\nclient-header-timeout = soon\n"))
                .hasMessageContaining("emperor.ini:3").hasMessageContaining("client-header-timeout")
                .hasMessageContaining("bad duration 'soon'");
        assertThatThrownBy(() -> load("[emperor]\nclient-idle-timeout = 0\n"))
                .hasMessageContaining("emperor.ini:2").hasMessageContaining("client-idle-timeout")
                .hasMessageContaining("more than 0");
        assertThatThrownBy(() -> load("[emperor]\nclient-min-rate = fast\n"))
                .hasMessageContaining("client-min-rate").hasMessageContaining("bad size 'fast'");
        assertThatThrownBy(() -> load("[emperor]\nclient-rate-grace = 0s\n"))
                .hasMessageContaining("client-rate-grace").hasMessageContaining("more than 0");
        assertThatThrownBy(() -> load("[emperor]\nupstream-timeout = 5x\n"))
                .hasMessageContaining("upstream-timeout").hasMessageContaining("bad duration");
        assertThatThrownBy(() -> load("[emperor]\nclient-min-rat = 5\n"))
                .hasMessageContaining("did you mean 'client-min-rate'");
    }

    @Test
    void aMissingFileIsAnError() {
        Path file = dir.resolve("absent.ini");
        try {
            EmperorConfig.load(file);
            throw new AssertionError("expected a ConfigError");
        } catch (ConfigError e) {
            assertThat(e.getMessage()).isEqualTo(file + ": cannot read: no such file");
        }
    }

    static Stream<Arguments> errors() {
        return Stream.of(
                Arguments.of("[emperror]\n", ":1: unknown section [emperror]; emperor.ini has only [emperor] (did you mean 'emperor'?)"),
                Arguments.of("[emperor]\n[vassal]\n", ":2: unknown section [vassal]; emperor.ini has only [emperor]"),
                Arguments.of("[emperor]\nvasals = /x\n", ":2: vasals: unknown key (did you mean 'vassals'?)"),
                Arguments.of("[emperor]\nlisten = :80\n", ":2: listen: unknown key"),
                Arguments.of("[emperor]\nrescan = 1\nrescan = 2\n", ":3: rescan: given twice (lines 2 and 3)"),
                Arguments.of("[emperor]\nstate-dir =\n", ":2: state-dir: empty value (leave the key out to get the default)"),
                Arguments.of("[emperor]\ncgroup = /\n", ":2: cgroup: bad cgroup path '/': expected /PARENT/.../NAME, parts of letters, digits, '_', '.' and '-' (not the root cgroup)"),
                Arguments.of("[emperor]\ncgroup = /a/../b\n", ":2: cgroup: bad cgroup path '/a/../b': expected /PARENT/.../NAME, parts of letters, digits, '_', '.' and '-' (not the root cgroup)"),
                Arguments.of("[emperor]\ncgroup = /a//b\n", ":2: cgroup: bad cgroup path '/a//b': expected /PARENT/.../NAME, parts of letters, digits, '_', '.' and '-' (not the root cgroup)"),
                Arguments.of("[emperor]\ncgroup = a/b\n", ":2: cgroup: bad cgroup name 'a/b': letters, digits, '_', '.' and '-', or an absolute cgroup path"),
                Arguments.of("[emperor]\ncgroup = ..\n", ":2: cgroup: bad cgroup name '..': letters, digits, '_', '.' and '-', or an absolute cgroup path"),
                Arguments.of("[emperor]\nuid-range = 100000\n", ":2: uid-range: bad uid range '100000': expected FIRST-LAST, e.g. 100000-199999"),
                Arguments.of("[emperor]\nuid-range = 500-2000\n", ":2: uid-range: uid range must lie within 1000-2147483647"),
                Arguments.of("[emperor]\nuid-range = 5000-3000000000\n", ":2: uid-range: uid range must lie within 1000-2147483647"),
                Arguments.of("[emperor]\nuid-range = 9000-8000\n", ":2: uid-range: uid range is empty: 9000 is above 8000"),
                Arguments.of("[emperor]\nuid-range = 60000-70000\n", ":2: uid-range: uid range includes 65534 ('nobody', shared with the host)"),
                Arguments.of("[emperor]\nstop-grace = soon\n", ":2: stop-grace: bad duration 'soon': expected a number of seconds or a number followed by ms, s, m or h"),
                Arguments.of("[emperor]\nrescan = 0\n", ":2: rescan: must be more than 0"),
                Arguments.of("[emperor]\nbackoff-max = 0s\n", ":2: backoff-max: must be more than 0"),
                Arguments.of("[emperor]\nlog-max-size = 12Q\n", ":2: log-max-size: bad size '12Q': expected a number with optional K, M, G"),
                Arguments.of("[emperor]\nlog-max-size = 100\n", ":2: log-max-size: '100' is too small: at least 4K"),
                Arguments.of("[emperor]\nlog-keep = -1\n", ":2: log-keep: bad count '-1': expected 0 to 1000"),
                Arguments.of("[emperor]\nlog-keep = 1001\n", ":2: log-keep: bad count '1001': expected 0 to 1000"),
                Arguments.of("[emperor]\nlog-rate = 100\n", ":2: log-rate: '100' is too small: at least 1K"),
                Arguments.of("[emperor]\ntmp-size = 4K\n", ":2: tmp-size: '4K' is too small: at least 1M"),
                Arguments.of("[emperor]\non-exit = kill\n", ":2: on-exit: expected 'leave' (tenants keep running for the next emperor) or 'stop', not 'kill'"),
                Arguments.of("[emperor]\nksm-run = yes\n", ":2: ksm-run: expected 'auto' (start the host's ksmd when a vassal asks for ksm), 'on' (start it at start-up) or 'off' (leave it as it is), not 'yes'"),
                Arguments.of("rescan = 5\n", ":1: rescan: key outside any section (put a [section] header above it)"));
    }

    @ParameterizedTest
    @MethodSource("errors")
    void everyErrorNamesFileLineAndKey(String content, String expected) throws Exception {
        assertThat(error(content)).isEqualTo(expected);
    }

    @Test
    void stopGraceMayBeZero() throws Exception {
        assertThat(load("[emperor]\nstop-grace = 0\n").stopGrace()).isZero();
    }
}
