package dev.emperor.supervisor.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.jail.BindMount;
import dev.emperor.jail.Limits;
import dev.emperor.jail.seccomp.SeccompPolicy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class VassalIniTest {
    @TempDir
    Path dir;

    TestHost host;

    @BeforeEach
    void setUp() {
        host = new TestHost(dir);
    }

    @Test
    void aMinimalFileGetsEveryDefault() throws Exception {
        String content = "[vassal]\nexec = python3 -m http.server 8080\n";
        VassalConfig config = host.load("hello.ini", content);

        assertThat(config.name()).isEqualTo("hello");
        assertThat(config.source()).isEqualTo(host.vassals.resolve("hello.ini"));
        assertThat(config.argv()).containsExactly("python3", "-m", "http.server", "8080");
        assertThat(config.env()).isEmpty();
        assertThat(config.uid()).isEmpty();
        assertThat(config.gid()).isEmpty();
        assertThat(config.distro()).isEqualTo("bookworm");
        assertThat(config.hostname()).isEqualTo("hello");
        assertThat(config.memoryBytes()).isZero();
        assertThat(config.cpuPercent()).isZero();
        assertThat(config.pids()).isEqualTo(4096);
        assertThat(config.tmpBytes()).isEqualTo(64L << 20);
        assertThat(config.disk()).isEqualTo(new DiskQuota(1L << 30, 65_536));
        assertThat(config.cwd()).isEqualTo("/home/hello");
        assertThat(config.homePath()).isEqualTo("/home/hello");
        assertThat(config.binds()).isEmpty();
        assertThat(config.seccompAllow()).isEmpty();
        assertThat(config.ksm()).isFalse();
        assertThat(config.contentHash()).isEqualTo(HexFormat.of().formatHex(
                MessageDigest.getInstance("SHA-256").digest(content.getBytes(StandardCharsets.UTF_8))));
        assertThat(config.limits()).isEqualTo(new Limits(0, 0, 4096));
        assertThat(config.seccompPolicy()).isEqualTo(SeccompPolicy.DEFAULT);
    }

    @Test
    void aBindTargetMissingFromTheDistroIsRefusedByLine() {
        assertThat(host.error("app.ini", TestHost.ini("bind = /tmp:/nowhere/data")))
                .contains("app.ini:3: bind: bind target /nowhere/data does not exist in distro 'bookworm'");
    }

    @Test
    void aBindTargetUnderTheJailsOwnMountsNeedNotBeInTheDistro() throws ConfigError {
        assertThat(host.load("app.ini", TestHost.ini("bind = /tmp:/run/extra")).binds()).hasSize(1);
    }

    @Test
    void everyKeyIsResolved() throws Exception {
        Path data = Files.createDirectories(dir.resolve("shared-data"));
        VassalConfig config = host.load("shop.ini", """
                ; the shop
                [vassal]
                exec = gunicorn --bind 'unix:/run/app.sock' "shop.wsgi:app"
                env = DJANGO_SETTINGS=shop.settings
                env = GREETING=hello world; with # and = signs
                uid = 150000
                gid = 150001
                distro = trixie
                hostname = shop-1
                memory = 256M
                cpu = 50%
                pids = 200
                tmp-size = 16M
                cwd = /home/shop/app
                home = /home/shop
                bind = DATA:/srv/data
                bind = DATA:/srv/rw:rw
                seccomp-allow = bpf, perf_event_open
                seccomp-allow = keyctl
                ksm = yes
                """.replace("DATA", data.toString()));

        assertThat(config.argv()).containsExactly("gunicorn", "--bind", "unix:/run/app.sock", "shop.wsgi:app");
        assertThat(config.env()).containsExactly("DJANGO_SETTINGS=shop.settings", "GREETING=hello world; with # and = signs");
        assertThat(config.uid()).isEqualTo(OptionalInt.of(150000));
        assertThat(config.gid()).isEqualTo(OptionalInt.of(150001));
        assertThat(config.distro()).isEqualTo("trixie");
        assertThat(config.hostname()).isEqualTo("shop-1");
        assertThat(config.memoryBytes()).isEqualTo(256L << 20);
        assertThat(config.cpuPercent()).isEqualTo(50);
        assertThat(config.pids()).isEqualTo(200);
        assertThat(config.tmpBytes()).isEqualTo(16L << 20);
        assertThat(config.cwd()).isEqualTo("/home/shop/app");
        assertThat(config.homePath()).isEqualTo("/home/shop");
        assertThat(config.binds()).containsExactly(
                new BindMount(data, "/srv/data", false), new BindMount(data, "/srv/rw", true));
        assertThat(config.seccompAllow()).containsExactly("bpf", "keyctl", "perf_event_open");
        assertThat(config.ksm()).isTrue();
        assertThat(config.limits()).isEqualTo(new Limits(256L << 20, 50, 200));
    }

    @Test
    void userTakesUidAndGidFromTheHostAccount() throws Exception {
        VassalConfig config = host.load("alice.ini", TestHost.ini("user = alice"));
        assertThat(config.uid()).isEqualTo(OptionalInt.of(1500));
        assertThat(config.gid()).isEqualTo(OptionalInt.of(1500));
    }

    @Test
    void gidDefaultsToUid() throws Exception {
        VassalConfig config = host.load("app.ini", TestHost.ini("uid = 123456"));
        assertThat(config.gid()).isEqualTo(OptionalInt.of(123456));
    }

    @Test
    void theDefaultHostnameMakesTheTenantNameAValidLabel() throws Exception {
        assertThat(host.load("my_app-.ini", TestHost.ini()).hostname()).isEqualTo("my-app");
    }

    @Test
    void cwdDefaultsToAChosenHome() throws Exception {
        VassalConfig config = host.load("app.ini", TestHost.ini("home = /home/elsewhere"));
        assertThat(config.cwd()).isEqualTo("/home/elsewhere");
    }

    @Test
    void tmpSizeDefaultComesFromTheEnvironment() throws Exception {
        var env = new HostVassalEnvironment(host.distros, host.passwd, 32L << 20);
        assertThat(VassalFiles.load(host.write("app.ini", TestHost.ini()), env).tmpBytes()).isEqualTo(32L << 20);
    }

    @Test
    void diskAndInodesBoundTheImage() throws Exception {
        assertThat(host.load("app.ini", TestHost.ini("disk = 2G", "inodes = 1000")).disk())
                .isEqualTo(new DiskQuota(2L << 30, 1000));
        assertThat(host.load("app.ini", TestHost.ini("disk = unlimited")).disk()).isEqualTo(DiskQuota.UNLIMITED);
        // the default inode count, capped to one per 4K of a small disk
        assertThat(host.load("app.ini", TestHost.ini("disk = 16M")).disk()).isEqualTo(new DiskQuota(16L << 20, 4096));
    }

    @Test
    void diskDefaultsComeFromTheEnvironment() throws Exception {
        var env = new HostVassalEnvironment(host.distros, host.passwd, 32L << 20, new DiskQuota(64L << 20, 500));
        assertThat(VassalFiles.load(host.write("app.ini", TestHost.ini()), env).disk()).isEqualTo(new DiskQuota(64L << 20, 500));
        var unlimited = new HostVassalEnvironment(host.distros, host.passwd, 32L << 20, DiskQuota.UNLIMITED);
        assertThat(VassalFiles.load(host.write("app.ini", TestHost.ini()), unlimited).disk()).isEqualTo(DiskQuota.UNLIMITED);
        assertThat(VassalFiles.load(host.write("app.ini", TestHost.ini("disk = 32M")), unlimited).disk())
                .isEqualTo(new DiskQuota(32L << 20, 8192));
    }

    @Test
    void booleansAcceptTheUsualSpellings() throws Exception {
        for (String yes : new String[] {"true", "yes", "on", "1", "TRUE", "Yes"}) {
            assertThat(host.load("app.ini", TestHost.ini("ksm = " + yes)).ksm()).as(yes).isTrue();
        }
        for (String no : new String[] {"false", "no", "off", "0", "Off"}) {
            assertThat(host.load("app.ini", TestHost.ini("ksm = " + no)).ksm()).as(no).isFalse();
        }
    }

    @Test
    void theContentHashChangesWithTheFile() throws Exception {
        String first = host.load("app.ini", TestHost.ini()).contentHash();
        String same = host.load("app.ini", TestHost.ini()).contentHash();
        String changed = host.load("app.ini", TestHost.ini("; a comment changes the hash too")).contentHash();
        assertThat(first).hasSize(64).isEqualTo(same).isNotEqualTo(changed);
    }

    @Test
    void theFirstErrorInTheFileIsTheOneReported() {
        assertThat(host.error("app.ini", TestHost.ini("cpu = lots", "memory = lots")))
                .contains("app.ini:3: cpu:");
    }

    @Test
    void aMissingDefaultDistroIsReportedAtTheSectionHeader() throws Exception {
        Files.move(host.distros.resolve("bookworm"), host.root.resolve("bookworm-elsewhere"));
        assertThat(host.error("app.ini", "; x\n[vassal]\nexec = true\n")).isEqualTo(host.vassals.resolve("app.ini")
                + ":2: distro: the default distro 'bookworm' is not in the distro store; name one that is");
    }

    @Test
    void anUnreadablePasswdFileIsAConfigErrorOnTheUserLine() throws Exception {
        Files.delete(host.passwd);
        assertThat(host.error("app.ini", TestHost.ini("user = alice")))
                .startsWith(host.vassals.resolve("app.ini") + ":3: user: cannot look up user 'alice': cannot read ");
    }

    @Test
    void aBindSourceThatDoesNotExistIsAnError() {
        Path missing = dir.resolve("missing");
        assertThat(host.error("app.ini", TestHost.ini("bind = " + missing + ":/srv")))
                .endsWith(":3: bind: bind source " + missing + " does not exist");
    }

    @Test
    void twoBindsOntoOneTargetNameBothLines() throws Exception {
        Path data = Files.createDirectories(dir.resolve("d"));
        assertThat(host.error("app.ini", TestHost.ini("bind = " + data + ":/srv", "bind = " + data + ":/srv:rw")))
                .endsWith(":4: bind: bind target /srv is already bound on line 3");
    }

    @Test
    void aBadFirewallRuleNamesItsLineAndTheProblem() {
        assertThat(host.error("app.ini", TestHost.ini("firewall-out = allow 0.0.0.0/0 10.0.0.1", "firewall-in = permit 0.0.0.0 0.0.0.0")))
                .contains(":4: firewall-in: bad rule 'permit 0.0.0.0 0.0.0.0': ");
    }

    @Test
    void onlyAFirewallChangeNeedsNoRestartButAnyOtherChangeDoes() throws Exception {
        VassalConfig before = host.load("app.ini", TestHost.ini());
        VassalConfig rulesAdded = host.load("app.ini", TestHost.ini("firewall-out = deny 0.0.0.0/0 192.0.2.0/24"));
        VassalConfig pidsChanged = host.load("app.ini", TestHost.ini("firewall-out = deny 0.0.0.0/0 192.0.2.0/24", "pids = 10"));
        assertThat(before.needsRestartFor(rulesAdded)).isFalse();
        assertThat(rulesAdded.needsRestartFor(before)).isFalse();
        assertThat(rulesAdded.needsRestartFor(pidsChanged)).isTrue();
    }

    @Test
    void netRateIsASizeInBytesPerSecondChangedWithoutARestart() throws Exception {
        VassalConfig none = host.load("app.ini", TestHost.ini());
        VassalConfig limited = host.load("app.ini", TestHost.ini("net-rate = 10M"));
        assertThat(none.netRate()).isZero();
        assertThat(limited.netRate()).isEqualTo(10L << 20);
        assertThat(host.load("app.ini", TestHost.ini("net-rate = 125000")).netRate()).isEqualTo(125_000);
        assertThat(none.needsRestartFor(limited)).isFalse();
        assertThat(limited.needsRestartFor(none)).isFalse();
        assertThat(host.error("app.ini", TestHost.ini("net-rate = 100"))).contains(":3: net-rate:").contains("1K");
        assertThat(host.error("app.ini", TestHost.ini("net-rate = fast"))).contains(":3: net-rate:");
    }

    @Test
    void aWebSiteHasItsDomainsInLowerCaseAndItsUpstream() throws Exception {
        VassalConfig c = host.load("shop.ini", TestHost.ini("domain = Shop.Example.COM.", "domain = *.shop.example.com",
                "upstream = :8080", "maintenance = on", "maintenance-upstream = /var/run/down.sock",
                "https-redirect = yes", "max-body = 1M", "max-connections = 20"));
        assertThat(c.web()).isEqualTo(new WebSite(java.util.List.of("shop.example.com", "*.shop.example.com"),
                new WebSite.Upstream.TunPort(8080), true, new WebSite.Upstream.RunSocket("down.sock"), true, 1L << 20, 20));
        assertThat(host.load("app.ini", TestHost.ini("domain = app.example.com")).web().upstream())
                .isEqualTo(new WebSite.Upstream.RunSocket("app.sock"));
        assertThat(host.load("app.ini", TestHost.ini()).web()).isNull();
    }

    @Test
    void aWebSiteChangeNeedsNoRestart() throws Exception {
        VassalConfig before = host.load("app.ini", TestHost.ini("domain = app.example.com"));
        VassalConfig after = host.load("app.ini", TestHost.ini("domain = app.example.com", "domain = www.example.com", "maintenance = on"));
        assertThat(before.needsRestartFor(after)).isFalse();
    }

    static Stream<Arguments> errors() {
        return Stream.of(
                // web site
                Arguments.of(TestHost.ini("upstream = :80"), "3: upstream: only means something for a web site: add a 'domain'"),
                Arguments.of(TestHost.ini("domain = localhost"), "3: domain: domain 'localhost' needs at least two labels (like example.com)"),
                Arguments.of(TestHost.ini("domain = shop.*.example.com"), "3: domain: domain 'shop.*.example.com': label '*' is not 1 to 63 of a-z, 0-9 and '-' (not at either end); a wildcard is only allowed as the whole first label: *.example.com"),
                Arguments.of(TestHost.ini("domain = bücher.example"), "3: domain: domain 'bücher.example' is not ASCII: write it as 'xn--bcher-kva.example'"),
                Arguments.of(TestHost.ini("domain = -bad.example.com"), "3: domain: domain '-bad.example.com': label '-bad' is not 1 to 63 of a-z, 0-9 and '-' (not at either end)"),
                Arguments.of(TestHost.ini("domain = a.example.com", "domain = A.example.com"), "4: domain: domain a.example.com is already given on line 3"),
                Arguments.of(TestHost.ini("domain = a.example.com", "upstream = /run/../etc/x"), "4: upstream: '/run/../etc/x': the socket must be a file directly in /run (name of A-Z a-z 0-9 _ . -)"),
                Arguments.of(TestHost.ini("domain = a.example.com", "upstream = /run/sub/app.sock"), "4: upstream: '/run/sub/app.sock': the socket must be a file directly in /run (name of A-Z a-z 0-9 _ . -)"),
                Arguments.of(TestHost.ini("domain = a.example.com", "upstream = :0"), "4: upstream: port in ':0' is not from 1 to 65535"),
                Arguments.of(TestHost.ini("domain = a.example.com", "upstream = 10.0.0.1:80"), "4: upstream: expected /run/FILE (a unix socket in the tenant's /run) or :PORT (a port on the tenant's own address), found '10.0.0.1:80'"),
                Arguments.of(TestHost.ini("domain = a.example.com", "max-connections = 0"), "4: max-connections: '0' is out of range: 1 to 1000000"),
                // structure
                Arguments.of("exec = x\n", "1: exec: key outside any section (put a [section] header above it)"),
                Arguments.of("; nothing\n", " no [vassal] section"),
                Arguments.of("[vassal]\nexec = x\n[vasal]\n", "3: unknown section [vasal]; a vassal file has only [vassal] (did you mean 'vassal'?)"),
                Arguments.of("[vassal]\nexec = x\n[uwsgi]\n", "3: unknown section [uwsgi]; a vassal file has only [vassal]"),
                Arguments.of("[vassal]\nmemory = 64M\n", "1: exec: required key missing: the command the vassal runs"),
                Arguments.of(TestHost.ini("memroy = 64M"), "3: memroy: unknown key (did you mean 'memory'?)"),
                Arguments.of(TestHost.ini("socket = /run/x.sock"), "3: socket: unknown key"),
                // operator-only: a tenant cannot extend its own retirement (emperor.ini retain)
                Arguments.of(TestHost.ini("retain = 3650"), "3: retain: unknown key"),
                Arguments.of(TestHost.ini("exec = false"), "3: exec: given twice (lines 2 and 3); this key may appear once"),
                Arguments.of(TestHost.ini("cpu ="), "3: cpu: empty value"),
                // exec
                Arguments.of("[vassal]\nexec = sh -c 'echo\n", "2: exec: unterminated single quote at column 7"),
                Arguments.of("[vassal]\nexec = echo \"hi\n", "2: exec: unterminated double quote at column 6"),
                Arguments.of("[vassal]\nexec = echo \\\n", "2: exec: trailing backslash at column 6"),
                Arguments.of("[vassal]\nexec = '' arg\n", "2: exec: empty program name"),
                // env
                Arguments.of(TestHost.ini("env = JUSTAKEY"), "3: env: expected KEY=VALUE, found no '='"),
                Arguments.of(TestHost.ini("env = 1ABC=x"), "3: env: bad variable name '1ABC': expected [A-Za-z_][A-Za-z0-9_]*"),
                Arguments.of(TestHost.ini("env = =x"), "3: env: bad variable name '': expected [A-Za-z_][A-Za-z0-9_]*"),
                Arguments.of(TestHost.ini("env = A=1", "env = B=2", "env = A=3"), "5: env: A is already set on line 3"),
                // user, uid, gid
                Arguments.of(TestHost.ini("user = bob"), "3: user: unknown user 'bob'"),
                Arguments.of(TestHost.ini("user = a b"), "3: user: bad user name 'a b'"),
                Arguments.of(TestHost.ini("user = root"), "3: user: user 'root' has uid 0: tenants need ids of at least 1000 (below are system accounts)"),
                Arguments.of(TestHost.ini("user = staff"), "3: user: user 'staff' has primary gid 50: tenants need ids of at least 1000 (below are system accounts)"),
                Arguments.of(TestHost.ini("user = nobody"), "3: user: user 'nobody' has uid 65534: that is 'nobody', shared with the host; pick an id of the tenant's own"),
                Arguments.of(TestHost.ini("user = big"), "3: user: user 'big' has uid 3000000000: ids above 2147483647 are not supported"),
                Arguments.of(TestHost.ini("user = broken"), "3: user: unknown user 'broken'"),
                Arguments.of(TestHost.ini("user = alice", "uid = 5000"), "4: uid: not allowed together with 'user' (line 3): user sets both uid and gid"),
                Arguments.of(TestHost.ini("gid = 5000", "user = alice"), "3: gid: not allowed together with 'user' (line 4): user sets both uid and gid"),
                Arguments.of(TestHost.ini("uid = 999"), "3: uid: uid 999: tenants need ids of at least 1000 (below are system accounts)"),
                Arguments.of(TestHost.ini("uid = 0"), "3: uid: uid 0: tenants need ids of at least 1000 (below are system accounts)"),
                Arguments.of(TestHost.ini("uid = -5"), "3: uid: bad number '-5': expected digits only"),
                Arguments.of(TestHost.ini("uid = 4294967296"), "3: uid: uid 4294967296: ids above 2147483647 are not supported"),
                Arguments.of(TestHost.ini("uid = 99999999999999999999999"), "3: uid: uid '99999999999999999999999': ids above 2147483647 are not supported"),
                Arguments.of(TestHost.ini("uid = 65534"), "3: uid: uid 65534: that is 'nobody', shared with the host; pick an id of the tenant's own"),
                Arguments.of(TestHost.ini("gid = 5000"), "3: gid: needs 'uid' as well"),
                Arguments.of(TestHost.ini("uid = 5000", "gid = 10"), "4: gid: gid 10: tenants need ids of at least 1000 (below are system accounts)"),
                // distro, hostname
                Arguments.of(TestHost.ini("distro = sid"), "3: distro: distro 'sid' is not in the distro store"),
                Arguments.of(TestHost.ini("distro = ../etc"), "3: distro: bad distro name '../etc': expected [a-z0-9][a-z0-9._-]*, at most 64 characters"),
                Arguments.of(TestHost.ini("distro = Bookworm"), "3: distro: bad distro name 'Bookworm': expected [a-z0-9][a-z0-9._-]*, at most 64 characters"),
                Arguments.of(TestHost.ini("hostname = -web"), "3: hostname: bad hostname '-web': 1 to 63 letters, digits and '-', not starting or ending with '-'"),
                Arguments.of(TestHost.ini("hostname = web.example.com"), "3: hostname: bad hostname 'web.example.com': 1 to 63 letters, digits and '-', not starting or ending with '-'"),
                Arguments.of(TestHost.ini("hostname = " + "a".repeat(64)), "3: hostname: bad hostname '" + "a".repeat(64) + "': 1 to 63 letters, digits and '-', not starting or ending with '-'"),
                // limits
                Arguments.of(TestHost.ini("memory = 12Q"), "3: memory: bad size '12Q': expected a number with optional K, M, G"),
                Arguments.of(TestHost.ini("memory = 1M"), "3: memory: '1M' is too small: at least 4M"),
                Arguments.of(TestHost.ini("cpu = 0"), "3: cpu: '0' is out of range: 1 to 10000 percent of one core"),
                Arguments.of(TestHost.ini("cpu = 10001%"), "3: cpu: '10001%' is out of range: 1 to 10000 percent of one core"),
                Arguments.of(TestHost.ini("cpu = half"), "3: cpu: bad percentage 'half': expected a whole number with optional %"),
                Arguments.of(TestHost.ini("pids = 0"), "3: pids: '0' is out of range: 1 to 1000000"),
                Arguments.of(TestHost.ini("pids = 1000001"), "3: pids: '1000001' is out of range: 1 to 1000000"),
                Arguments.of(TestHost.ini("pids = many"), "3: pids: bad number 'many': expected digits only"),
                Arguments.of(TestHost.ini("pids = 99999999999999999999"), "3: pids: '99999999999999999999' is out of range: 1 to 1000000"),
                Arguments.of(TestHost.ini("tmp-size = 512K"), "3: tmp-size: '512K' is too small: at least 1M"),
                Arguments.of(TestHost.ini("tmp-size = 0"), "3: tmp-size: '0' is too small: at least 1M"),
                Arguments.of(TestHost.ini("disk = 8M"), "3: disk: '8M' is out of range: 16M to 16384G, or 'unlimited'"),
                Arguments.of(TestHost.ini("disk = lots"), "3: disk: bad size 'lots': expected a number with optional K, M, G, or 'unlimited'"),
                Arguments.of(TestHost.ini("inodes = 10"), "3: inodes: '10' is out of range: 64 to 4294967295"),
                Arguments.of(TestHost.ini("disk = 16M", "inodes = 5000"), "4: inodes: 5000 is more than a disk of 16M can hold: at most 4096 (one per 4K)"),
                Arguments.of(TestHost.ini("disk = unlimited", "inodes = 5000"), "4: inodes: needs a disk image, but disk is unlimited: set 'disk' to a size too"),
                // paths
                Arguments.of(TestHost.ini("cwd = app"), "3: cwd: bad path 'app': must be absolute"),
                Arguments.of(TestHost.ini("cwd = /home/app/../../etc"), "3: cwd: bad path '/home/app/../../etc': '..' components are not allowed"),
                Arguments.of(TestHost.ini("cwd = /home/./app"), "3: cwd: bad path '/home/./app': '.' components are not allowed"),
                Arguments.of(TestHost.ini("cwd = /home//app"), "3: cwd: bad path '/home//app': empty component (double or trailing '/')"),
                Arguments.of(TestHost.ini("cwd = /" + "a".repeat(5000)), "3: cwd: bad path '/" + "a".repeat(76) + "...': longer than 4095 characters"),
                Arguments.of(TestHost.ini("home = /srv/app"), "3: home: home must be under /home, e.g. /home/NAME"),
                Arguments.of(TestHost.ini("home = /home"), "3: home: home must be under /home, e.g. /home/NAME"),
                Arguments.of(TestHost.ini("home = /home/"), "3: home: bad path '/home/': empty component (double or trailing '/')"),
                Arguments.of(TestHost.ini("home = /home/../root"), "3: home: bad path '/home/../root': '..' components are not allowed"),
                // bind
                Arguments.of(TestHost.ini("bind = /srv"), "3: bind: expected SRC:DST or SRC:DST:ro or SRC:DST:rw ('/srv')"),
                Arguments.of(TestHost.ini("bind = /a:/b:/c:/d"), "3: bind: expected SRC:DST or SRC:DST:ro or SRC:DST:rw ('/a:/b:/c:/d')"),
                Arguments.of(TestHost.ini("bind = /tmp:/srv:rx"), "3: bind: bad bind mode 'rx': expected ro or rw"),
                Arguments.of(TestHost.ini("bind = tmp:/srv"), "3: bind: bad bind source 'tmp': must be absolute"),
                Arguments.of(TestHost.ini("bind = /tmp:srv"), "3: bind: bad bind target 'srv': must be absolute"),
                Arguments.of(TestHost.ini("bind = /tmp:/srv/../etc"), "3: bind: bad bind target '/srv/../etc': '..' components are not allowed"),
                Arguments.of(TestHost.ini("bind = /:/host"), "3: bind: bind source / is not allowed: / and /proc, /sys, /dev are the host's"),
                Arguments.of(TestHost.ini("bind = /proc/1/root:/host"), "3: bind: bind source /proc/1/root is not allowed: / and /proc, /sys, /dev are the host's"),
                Arguments.of(TestHost.ini("bind = /tmp:/"), "3: bind: bind target / is not allowed: / and /proc, /sys, /dev belong to the jail"),
                Arguments.of(TestHost.ini("bind = /tmp:/dev/shm"), "3: bind: bind target /dev/shm is not allowed: / and /proc, /sys, /dev belong to the jail"),
                // seccomp-allow, ksm
                Arguments.of(TestHost.ini("seccomp-allow = reboot"), "3: seccomp-allow: 'reboot' is not a syscall that can be allowed; see vassals/README.md for the list"),
                Arguments.of(TestHost.ini("seccomp-allow = keyctll"), "3: seccomp-allow: 'keyctll' is not a syscall that can be allowed (did you mean 'keyctl'?); see vassals/README.md for the list"),
                Arguments.of(TestHost.ini("seccomp-allow = , ,"), "3: seccomp-allow: no syscall names"),
                Arguments.of(TestHost.ini("ksm = maybe"), "3: ksm: bad boolean 'maybe': expected true/false, yes/no, on/off or 1/0"));
    }

    @ParameterizedTest
    @MethodSource("errors")
    void everyErrorNamesFileLineAndKey(String content, String expected) {
        Path file = host.vassals.resolve("app.ini");
        assertThat(host.error("app.ini", content)).isEqualTo(file + ":" + expected);
    }
}
