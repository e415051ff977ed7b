package dev.emperor.supervisor.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The real host: distros are directories of the distro store, accounts come from a passwd
 * file, read on each lookup (vassal files are loaded rarely; a stale cache would be worse).
 * The passwd file is parsed here rather than through getpwnam(3) or id(1): no NSS modules
 * loaded into the JVM, no process spawned.
 */
public final class HostVassalEnvironment implements VassalEnvironment {

    private final Path distroDir;
    private final Path passwdFile;
    private final long defaultTmpBytes;
    private final DiskQuota defaultDisk;

    public HostVassalEnvironment(Path distroDir, Path passwdFile, long defaultTmpBytes) {
        this(distroDir, passwdFile, defaultTmpBytes, DiskQuota.DEFAULT);
    }

    public HostVassalEnvironment(Path distroDir, Path passwdFile, long defaultTmpBytes, DiskQuota defaultDisk) {
        this.distroDir = distroDir;
        this.passwdFile = passwdFile;
        this.defaultTmpBytes = defaultTmpBytes;
        this.defaultDisk = defaultDisk;
    }

    /** Distros from {@code config.distroDir()}, accounts from /etc/passwd, tmp-size from the config. */
    public static HostVassalEnvironment of(EmperorConfig config) {
        return new HostVassalEnvironment(config.distroDir(), Path.of("/etc/passwd"), config.tmpSize(), config.diskDefault());
    }

    @Override
    public Optional<Path> distroRoot(String name) {
        return distroExists(name) ? Optional.of(distroDir.resolve(name)) : Optional.empty();
    }

    @Override
    public boolean distroExists(String name) {
        // The schema already allows only [a-z0-9][a-z0-9._-]*; refuse anything that could
        // leave the store all the same.
        if (name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..")) {
            return false;
        }
        return Files.isDirectory(distroDir.resolve(name));
    }

    @Override
    public Optional<HostAccount> lookupUser(String name) {
        String passwd;
        try {
            passwd = new String(Files.readAllBytes(passwdFile), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + passwdFile + ": " + ConfigFiles.describe(e), e);
        }
        return findAccount(passwd, name);
    }

    @Override
    public DiskQuota defaultDisk() {
        return defaultDisk;
    }

    @Override
    public long defaultTmpBytes() {
        return defaultTmpBytes;
    }

    /**
     * Finds {@code name} in passwd(5) text: {@code name:password:uid:gid:gecos:home:shell}.
     * Blank lines, comments, NIS compat lines ({@code +}/{@code -}) and malformed lines are
     * skipped; the first matching line wins, as with getpwnam(3).
     */
    static Optional<HostAccount> findAccount(String passwd, String name) {
        for (String line : passwd.split("\n", -1)) {
            if (line.isEmpty() || line.startsWith("#") || line.startsWith("+") || line.startsWith("-")) {
                continue;
            }
            String[] fields = line.split(":", -1);
            if (fields.length < 4 || !fields[0].equals(name)) {
                continue;
            }
            Optional<Long> uid = parseId(fields[2]);
            Optional<Long> gid = parseId(fields[3]);
            if (uid.isPresent() && gid.isPresent()) {
                return Optional.of(new HostAccount(uid.get(), gid.get()));
            }
        }
        return Optional.empty();
    }

    private static Optional<Long> parseId(String field) {
        if (field.isEmpty() || field.length() > 10 || !field.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return Optional.empty();
        }
        long id = Long.parseLong(field);
        return id <= 0xFFFF_FFFEL ? Optional.of(id) : Optional.empty();
    }
}
