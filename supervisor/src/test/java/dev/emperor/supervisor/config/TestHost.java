package dev.emperor.supervisor.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A small host inside a temporary directory for vassal tests: a distro store holding
 * "bookworm" and "trixie", a passwd file, a vassal directory, and the real
 * {@link HostVassalEnvironment} reading them.
 */
final class TestHost {
    static final String PASSWD = """
            root:x:0:0:root:/root:/bin/bash
            daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
            nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
            # a comment
            +nisuser::::::
            alice:x:1500:1500:Alice:/home/alice:/bin/bash
            staff:x:2000:50:Staff:/home/staff:/bin/bash
            broken:x:notanumber:1000::/:/bin/sh
            big:x:3000000000:3000000000::/:/bin/sh
            """;

    final Path root;
    final Path vassals;
    final Path distros;
    final Path passwd;
    final HostVassalEnvironment env;

    TestHost(Path root) {
        this.root = root;
        this.vassals = root.resolve("vassals");
        this.distros = root.resolve("distros");
        this.passwd = root.resolve("passwd");
        try {
            Files.createDirectories(vassals);
            for (String distro : List.of("bookworm", "trixie")) {
                // the bind targets the tests use exist in the distros, as they must (the root is read-only)
                for (String target : List.of("srv/data", "srv/rw", "srv/tmp")) {
                    Files.createDirectories(distros.resolve(distro).resolve(target));
                }
            }
            Files.writeString(passwd, PASSWD);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.env = new HostVassalEnvironment(distros, passwd, 64L << 20);
    }

    Path write(String fileName, String content) {
        return write(fileName, content.getBytes(StandardCharsets.UTF_8));
    }

    Path write(String fileName, byte[] content) {
        try {
            return Files.write(vassals.resolve(fileName), content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    VassalConfig load(String fileName, String content) throws ConfigError {
        return VassalFiles.load(write(fileName, content), env);
    }

    /** The message of the ConfigError that loading this content must raise. */
    String error(String fileName, String content) {
        Path file = write(fileName, content);
        try {
            VassalFiles.load(file, env);
        } catch (ConfigError e) {
            return e.getMessage();
        }
        throw new AssertionError("expected a ConfigError for " + fileName + ":\n" + content);
    }

    /** An INI vassal file: "[vassal]\nexec = true\n" followed by the given lines. */
    static String ini(String... lines) {
        return "[vassal]\nexec = true\n" + String.join("\n", lines) + "\n";
    }
}
