package dev.emperor.supervisor.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile files: random and mutated inputs must produce a config or a {@link ConfigError}
 * naming the file and a line within it, never any other exception. Seeded, so a failure
 * reproduces; the failing input is printed.
 */
class ConfigFuzzTest {
    private static final int ROUNDS = 20_000;

    private static final String INI_SEED = """
            ; comment
            [vassal]
            exec = sh -c 'while true; do echo "tick $n"; sleep 5; done'
            env = A=1
            env = B=x;y#z
            uid = 150000
            distro = bookworm
            hostname = app
            memory = 256M
            cpu = 50%
            pids = 100
            tmp-size = 16M
            cwd = /home/app/www
            home = /home/app
            bind = /tmp:/srv/tmp:rw
            seccomp-allow = ptrace, keyctl
            ksm = yes
            """;

    private static final String JSON_SEED = """
            {
              "exec": "sh -c 'echo \\"hi\\"; sleep 5'",
              "env": ["A=1", "B=2"],
              "user": "alice",
              "distro": "trixie",
              "memory": 268435456,
              "cpu": "150",
              "pids": 64,
              "tmp-size": "8M",
              "bind": "/tmp:/srv/tmp",
              "seccomp-allow": ["ptrace"],
              "ksm": true
            }
            """;

    private static final String EMPEROR_SEED = """
            [emperor]
            vassals = vassals
            state-dir = /var/lib/emperor
            cgroup = /system.slice/emperor.service
            uid-range = 100000-199999
            stop-grace = 500ms
            log-max-size = 10M
            log-keep = 5
            tmp-size = 64M
            """;

    /** Single characters that mean something to INI or JSON. */
    private static final String STRUCTURE = "\0\n=[];#'\"\\:{},";

    /** Fragments that matter to the parsers, spliced in at random. */
    private static final List<String> TOKENS = List.of(
            "[vassal]", "[emperor]", "[", "]", "=", " = ", ";", "#", "\n", "\r\n", "\r", "\t", "'", "\"", "\\",
            "exec", "env", "bind", "uid", "gid", "user", "memory", "cpu", "pids", "home", "cwd", "ksm", "distro",
            "seccomp-allow", "tmp-size", "hostname", ":", ":rw", "/", "..", "/proc", "/home/", "{", "}", ",", "null",
            "true", "1e999", "-1", "99999999999999999999", "%", "K", "G", "ms", "\\u0000", "\\ud800", "\\\"", "[]",
            "[[", "{}", "\uFEFF", "é", "☃", "\u2028", "root", "nobody", "65534", "0", "1000", "4294967296");

    @TempDir
    Path dir;

    @Test
    void mutatedAndRandomVassalFilesGiveConfigsOrConfigErrors() {
        TestHost host = new TestHost(dir);
        Random random = new Random(0x5EED_E4E0L);
        Path ini = host.vassals.resolve("fuzz.ini");
        Path json = host.vassals.resolve("fuzz.json");
        byte[][] iniSeeds = {INI_SEED.getBytes(StandardCharsets.UTF_8), JSON_SEED.getBytes(StandardCharsets.UTF_8)};
        byte[][] jsonSeeds = {JSON_SEED.getBytes(StandardCharsets.UTF_8), INI_SEED.getBytes(StandardCharsets.UTF_8)};
        int accepted = 0;
        for (int round = 0; round < ROUNDS; round++) {
            byte[] iniInput = input(random, iniSeeds);
            checkIni(ini, iniInput);
            accepted += checkVassal(ini, iniInput, host) ? 1 : 0;
            byte[] jsonInput = input(random, jsonSeeds);
            accepted += checkVassal(json, jsonInput, host) ? 1 : 0;
        }
        // The mutations are meant to explore near valid files too, not only to break them.
        assertThat(accepted).as("inputs that loaded").isGreaterThan(ROUNDS / 50);
    }

    @Test
    void mutatedEmperorIniFilesGiveConfigsOrConfigErrors() throws Exception {
        Random random = new Random(0xE4E0_0001L);
        Path file = dir.resolve("emperor.ini");
        byte[][] seeds = {EMPEROR_SEED.getBytes(StandardCharsets.UTF_8)};
        for (int round = 0; round < 2_000; round++) {
            byte[] input = input(random, seeds);
            Files.write(file, input);
            try {
                EmperorConfig.load(file);
            } catch (ConfigError e) {
                checkError(e, file, input);
            } catch (RuntimeException e) {
                throw new AssertionError("unexpected " + e + " for input:\n" + show(input), e);
            }
        }
    }

    @Test
    void vassalFilesAreAlsoFuzzedThroughTheDisk() throws Exception {
        TestHost host = new TestHost(dir);
        Random random = new Random(42);
        byte[][] seeds = {INI_SEED.getBytes(StandardCharsets.UTF_8)};
        for (int round = 0; round < 500; round++) {
            byte[] input = input(random, seeds);
            Path file = host.write("disk.ini", input);
            try {
                VassalFiles.load(file, host.env);
            } catch (ConfigError e) {
                checkError(e, file, input);
            } catch (RuntimeException e) {
                throw new AssertionError("unexpected " + e + " for input:\n" + show(input), e);
            }
        }
    }

    private static void checkIni(Path file, byte[] input) {
        try {
            IniParser.parse(file, input);
        } catch (ConfigError e) {
            checkError(e, file, input);
        } catch (RuntimeException e) {
            throw new AssertionError("IniParser: unexpected " + e + " for input:\n" + show(input), e);
        }
    }

    private static boolean checkVassal(Path file, byte[] input, TestHost host) {
        try {
            VassalConfig config = VassalFiles.parse(file, input, host.env);
            assertThat(config.argv()).isNotEmpty();
            return true;
        } catch (ConfigError e) {
            checkError(e, file, input);
            return false;
        } catch (RuntimeException e) {
            throw new AssertionError("VassalFiles: unexpected " + e + " for input:\n" + show(input), e);
        }
    }

    private static void checkError(ConfigError e, Path file, byte[] input) {
        // Jackson, like most editors, also takes a lone '\r' as a line break.
        int lines = 1;
        for (int i = 0; i < input.length; i++) {
            boolean loneCarriageReturn = input[i] == '\r' && (i + 1 == input.length || input[i + 1] != '\n');
            lines += input[i] == '\n' || loneCarriageReturn ? 1 : 0;
        }
        assertThat(e.file()).isEqualTo(file);
        assertThat(e.line()).as("line of %s", e.getMessage()).isBetween(0, lines);
        assertThat(e.getMessage()).startsWith(file.toString()).doesNotContain("\n", "\r");
    }

    /** One input: a mutated seed most of the time, sometimes pure noise. */
    private static byte[] input(Random random, byte[][] seeds) {
        if (random.nextInt(20) == 0) {
            byte[] noise = new byte[random.nextInt(300)];
            random.nextBytes(noise);
            return noise;
        }
        byte[] data = seeds[random.nextInt(10) == 0 ? 1 % seeds.length : 0];
        int mutations = 1 + random.nextInt(random.nextBoolean() ? 3 : 12);
        for (int i = 0; i < mutations; i++) {
            data = mutate(random, data);
        }
        return data;
    }

    private static byte[] mutate(Random random, byte[] data) {
        int at = data.length == 0 ? 0 : random.nextInt(data.length + 1);
        ByteArrayOutputStream out = new ByteArrayOutputStream(data.length + 16);
        switch (random.nextInt(8)) {
            case 0 -> { // flip a byte
                byte[] copy = data.clone();
                if (copy.length > 0) {
                    copy[random.nextInt(copy.length)] ^= (byte) (1 << random.nextInt(8));
                }
                return copy;
            }
            case 1 -> { // insert a random byte, often a structural one
                out.write(data, 0, at);
                out.write(random.nextBoolean() ? random.nextInt(256) : STRUCTURE.charAt(random.nextInt(STRUCTURE.length())));
                out.write(data, at, data.length - at);
            }
            case 2 -> { // delete a range
                int end = Math.min(data.length, at + random.nextInt(20));
                out.write(data, 0, at);
                out.write(data, end, data.length - end);
            }
            case 3 -> { // duplicate a range (repeated keys and sections)
                int end = Math.min(data.length, at + random.nextInt(60));
                out.write(data, 0, end);
                out.write(data, at, end - at);
                out.write(data, end, data.length - end);
            }
            case 4, 5 -> { // splice in a token
                out.write(data, 0, at);
                out.writeBytes(TOKENS.get(random.nextInt(TOKENS.size())).getBytes(StandardCharsets.UTF_8));
                out.write(data, at, data.length - at);
            }
            case 6 -> { // truncate
                out.write(data, 0, at);
            }
            default -> { // replace a line's value with a token
                out.write(data, 0, at);
                int end = at;
                while (end < data.length && data[end] != '\n') {
                    end++;
                }
                out.writeBytes(TOKENS.get(random.nextInt(TOKENS.size())).getBytes(StandardCharsets.UTF_8));
                out.write(data, end, data.length - end);
            }
        }
        return out.toByteArray();
    }

    private static String show(byte[] input) {
        StringBuilder s = new StringBuilder();
        for (byte b : input) {
            int c = b & 0xff;
            s.append(c == '\n' || (c >= 0x20 && c < 0x7f) ? String.valueOf((char) c) : String.format("\\x%02x", c));
        }
        return s.toString();
    }
}
