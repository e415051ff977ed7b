package dev.emperor.supervisor.config;

import dev.emperor.tunrouter.FirewallRule;
import dev.emperor.tunrouter.FirewallRules;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class VassalJsonTest {
    @TempDir
    Path dir;

    TestHost host;

    @BeforeEach
    void setUp() {
        host = new TestHost(dir);
    }

    /** The parts of a config that do not depend on which file it came from. */
    private static VassalConfig withoutOrigin(VassalConfig c) {
        return c.toBuilder().source(Path.of("-")).contentHash("-")
                .firewall(new FirewallRules(withoutOrigin(c.firewall().out()), withoutOrigin(c.firewall().in()))).build();
    }

    /** Rules name their file and line; the rest must be the same. */
    private static java.util.List<FirewallRule> withoutOrigin(java.util.List<FirewallRule> rules) {
        return rules.stream().map(r -> new FirewallRule(r.verdict(), r.source(), r.destination(), r.protocol(),
                r.portFrom(), r.portTo(), r.icmpType(), r.icmpCode(), r.except(), r.text(), "-")).toList();
    }

    @Test
    void theSameSettingsGiveTheSameConfigFromIniAndJson() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        VassalConfig fromIni = host.load("shop.ini", """
                [vassal]
                exec = sh -c 'while true; do echo "tick"; sleep 5; done'
                env = A=1
                env = B=two words
                uid = 150000
                distro = trixie
                hostname = shop
                memory = 268435456
                cpu = 150
                pids = 64
                tmp-size = 8M
                cwd = /home/shop/www
                bind = %s:/srv/data:rw
                seccomp-allow = bpf
                seccomp-allow = keyctl
                ksm = true
                firewall-out = allow 0.0.0.0/0 192.0.2.7 proto tcp port 5432
                firewall-out = deny 0.0.0.0/0 192.0.2.0/24
                firewall-in = deny 198.51.100.0/24 0.0.0.0/0
                disk = 32M
                inodes = 2000
                """.formatted(data));
        VassalConfig fromJson = host.load("shop.json", """
                {
                  "exec": "sh -c 'while true; do echo \\"tick\\"; sleep 5; done'",
                  "env": ["A=1", "B=two words"],
                  "uid": 150000,
                  "distro": "trixie",
                  "hostname": "shop",
                  "memory": 268435456,
                  "cpu": "150",
                  "pids": 64,
                  "tmp-size": "8M",
                  "cwd": "/home/shop/www",
                  "bind": "%s:/srv/data:rw",
                  "seccomp-allow": ["bpf", "keyctl"],
                  "ksm": true,
                  "firewall-out": ["allow 0.0.0.0/0 192.0.2.7 proto tcp port 5432", "deny 0.0.0.0/0 192.0.2.0/24"],
                  "firewall-in": "deny 198.51.100.0/24 0.0.0.0/0",
                  "disk": 33554432,
                  "inodes": 2000
                }
                """.formatted(data));
        assertThat(withoutOrigin(fromJson)).isEqualTo(withoutOrigin(fromIni));
        assertThat(fromJson.disk()).isEqualTo(new DiskQuota(32L << 20, 2000));
        assertThat(fromJson.argv()).containsExactly("sh", "-c", "while true; do echo \"tick\"; sleep 5; done");
        assertThat(fromJson.source()).isEqualTo(host.vassals.resolve("shop.json"));
        assertThat(fromJson.contentHash()).isNotEqualTo(fromIni.contentHash());
        assertThat(fromIni.firewall().out()).extracting(FirewallRule::origin)
                .containsExactly(host.vassals.resolve("shop.ini") + ":17", host.vassals.resolve("shop.ini") + ":18");
    }

    @Test
    void aMinimalJsonFileGetsTheDefaults() throws Exception {
        VassalConfig fromJson = host.load("app.json", "{\"exec\": \"true\"}");
        VassalConfig fromIni = host.load("app.ini", TestHost.ini());
        assertThat(withoutOrigin(fromJson)).isEqualTo(withoutOrigin(fromIni));
    }

    @Test
    void anEmptyArrayOfARepeatableKeyIsNothing() throws Exception {
        assertThat(host.load("app.json", "{\"exec\": \"true\", \"env\": []}").env()).isEmpty();
    }

    @Test
    void numbersAndBooleansMayAlsoBeStrings() throws Exception {
        VassalConfig config = host.load("app.json", "{\"exec\": \"true\", \"pids\": \"10\", \"ksm\": \"on\", \"uid\": \"5000\"}");
        assertThat(config.pids()).isEqualTo(10);
        assertThat(config.ksm()).isTrue();
        assertThat(config.uid()).hasValue(5000);
    }

    @Test
    void aJsonValueIsCheckedByTheSameRulesAsIni() {
        assertThat(host.error("app.json", "{\n  \"exec\": \"true\",\n  \"memory\": 1024\n}"))
                .isEqualTo(host.vassals.resolve("app.json") + ":3: memory: '1024' is too small: at least 4M");
    }

    @Test
    void eachArrayElementKeepsItsOwnLine() {
        assertThat(host.error("app.json", "{\"exec\": \"true\",\n \"env\": [\n  \"A=1\",\n  \"oops\"\n ]\n}"))
                .isEqualTo(host.vassals.resolve("app.json") + ":4: env: expected KEY=VALUE, found no '='");
    }

    static Stream<Arguments> errors() {
        return Stream.of(
                Arguments.of("", "1: expected a JSON object { \"exec\": ... }"),
                Arguments.of("[1, 2]", "1: expected a JSON object { \"exec\": ... }"),
                Arguments.of("\"exec\"", "1: expected a JSON object { \"exec\": ... }"),
                Arguments.of("{\"exec\": \"true\"} {}", "1: unexpected content after the JSON object"),
                Arguments.of("{\"exec\": \"true\",\n\"exec\": \"false\"}", "2: exec: given twice (lines 1 and 2) ; a repeatable key takes an array"),
                Arguments.of("{\"exec\": \"true\",\n\"env\": \"A=1\",\n\"env\": \"B=1\"}", "3: env: given twice (lines 2 and 3) ; a repeatable key takes an array"),
                Arguments.of("{\n\"exec\": \"true\",\n\"memroy\": \"64M\"}", "3: memroy: unknown key (did you mean 'memory'?)"),
                Arguments.of("{\"exec\": [\"a\", \"b\"]}", "1: exec: takes a single value, not an array"),
                Arguments.of("{\"exec\": 5}", "1: exec: expected a string, found a number"),
                Arguments.of("{\"exec\": true}", "1: exec: expected a string, found a boolean"),
                Arguments.of("{\"exec\": null}", "1: exec: expected a string, found null (leave the key out instead)"),
                Arguments.of("{\"exec\": {\"a\": 1}}", "1: exec: expected a string, found an object"),
                Arguments.of("{\"exec\": \"true\", \"env\": [\"A=1\", 2]}", "1: env: expected an array of strings, found a number"),
                Arguments.of("{\"exec\": \"true\", \"env\": [[\"A=1\"]]}", "1: env: expected an array of strings, found an array"),
                Arguments.of("{\"exec\": \"true\", \"env\": 5}", "1: env: expected a string or an array of strings, found a number"),
                Arguments.of("{\"exec\": \"true\", \"pids\": 1.5}", "1: pids: expected a whole number"),
                Arguments.of("{\"exec\": \"true\", \"pids\": 1e3}", "1: pids: expected a whole number"),
                Arguments.of("{\"exec\": \"true\", \"pids\": -1}", "1: pids: bad number '-1': expected digits only"),
                Arguments.of("{\"exec\": \"true\", \"pids\": true}", "1: pids: expected a number or a string, found a boolean"),
                Arguments.of("{\"exec\": \"true\", \"ksm\": 1}", "1: ksm: expected true, false or a string, found a number"),
                Arguments.of("{\"exec\": \"true\", \"hostname\": 1.5}", "1: hostname: expected a string"),
                Arguments.of("{\"exec\": \"a\\u0000b\"}", "1: exec: NUL character in value"),
                Arguments.of("{\"exec\": \"a\\ud800b\"}", "1: exec: value is not valid Unicode (lone surrogate)"),
                Arguments.of("{\"exec\": \"\"}", "1: exec: empty value"),
                Arguments.of("{\n\"pids\": 5\n}", "1: exec: required key missing: the command the vassal runs"),
                Arguments.of("{\"exec\": \"true\",\n// comment\n}", "2: invalid JSON: Unexpected character ('/' (code 47)): maybe a (non-standard) comment? (not recognized as one since Feature 'ALLOW_COMMENTS' not enabled for parser)"),
                Arguments.of("{\"exec\": \"true\",\n}", "2: invalid JSON: Unexpected character ('}' (code 125)): was expecting double-quote to start field name"),
                Arguments.of("{\n\"env\": [\"A=1\"", "2: invalid JSON: Unexpected end-of-input: expected close marker for Array (opened on line 2)"),
                Arguments.of("{\"exec\": \"true\"", "1: invalid JSON: Unexpected end-of-input: expected close marker for Object (opened on line 1)"));
    }

    @ParameterizedTest
    @MethodSource("errors")
    void everyErrorNamesFileLineAndKey(String content, String expected) {
        assertThat(host.error("app.json", content)).isEqualTo(host.vassals.resolve("app.json") + ":" + expected);
    }

    @Test
    void invalidUtf8AndNulBytesAreRefusedBeforeJsonParsing() {
        Path file = host.write("app.json", new byte[] {'{', '\n', '"', (byte) 0xff, '"', '}'});
        assertThat(catchMessage(file)).isEqualTo(file + ":2: invalid UTF-8 at byte 3");
        file = host.write("app.json", new byte[] {'{', 0, '}'});
        assertThat(catchMessage(file)).isEqualTo(file + ":1: NUL byte in file");
    }

    private String catchMessage(Path file) {
        try {
            VassalFiles.load(file, host.env);
        } catch (ConfigError e) {
            return e.getMessage();
        }
        throw new AssertionError("expected a ConfigError");
    }
}
