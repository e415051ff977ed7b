package dev.emperor.jail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Set;

/**
 * The native helper {@code emperor-init}, shipped inside the jar, made runnable as a file.
 *
 * <p>It is written to {@code DIR/emperor-init-HASH} (HASH: the start of its SHA-256), so an
 * upgraded emperor never overwrites a binary that running tenants' pid 1 still execute, and two
 * versions can coexist. The helper runs as root before it drops privileges, so both the
 * directory and the file must be root-owned and writable by root alone; anything else is
 * refused rather than repaired.
 */
final class HelperBinary {
    static final String RESOURCE = "dev/emperor/jail/native/emperor-init";
    static final String NAME_PREFIX = "emperor-init";

    private HelperBinary() {}

    /** Extracts the helper from the classpath into dir (created if missing) and returns its path. */
    static Path extract(Path dir) {
        try (InputStream in = HelperBinary.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new JailException("helper binary", RESOURCE + " is not on the classpath (was the jail module built with cc?)");
            }
            return extract(dir, in.readAllBytes());
        } catch (IOException e) {
            throw new JailException("helper binary", "read " + RESOURCE + ": " + e, e);
        }
    }

    /** Writes content to dir/emperor-init-HASH unless an identical file is already there. */
    static Path extract(Path dir, byte[] content) {
        String hash = sha256(content);
        Path target = dir.resolve(NAME_PREFIX + "-" + hash.substring(0, 16));
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            requireRootOnly(dir, "directory");
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                if (Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS) && sha256(Files.readAllBytes(target)).equals(hash)) {
                    return verify(target);
                }
                // Same name, other content: a damaged file; replaced below, atomically.
            }
            // Written under a temporary name that only root can use, then renamed into place,
            // so no process ever executes a half-written helper.
            Path tmp = Files.createTempFile(dir, NAME_PREFIX, ".tmp", PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
            try {
                Files.write(tmp, content);
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
            return verify(target);
        } catch (IOException e) {
            throw new JailException("helper binary", "extract to " + target + ": " + e, e);
        }
    }

    /** Checks that an existing helper file is a regular, executable file only root can change. */
    static Path verify(Path binary) {
        try {
            if (!Files.isRegularFile(binary, LinkOption.NOFOLLOW_LINKS)) {
                throw new JailException("helper binary", binary + " is not a regular file");
            }
            requireRootOnly(binary, "file");
            requireRootOnly(binary.toAbsolutePath().getParent(), "directory");
            if (!Files.isExecutable(binary)) throw new JailException("helper binary", binary + " is not executable");
            return binary;
        } catch (IOException e) {
            throw new JailException("helper binary", "check " + binary + ": " + e, e);
        }
    }

    private static void requireRootOnly(Path path, String what) throws IOException {
        PosixFileAttributes attrs = Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        int uid = (Integer) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        Set<PosixFilePermission> perms = attrs.permissions();
        if (uid != 0 || perms.contains(PosixFilePermission.GROUP_WRITE) || perms.contains(PosixFilePermission.OTHERS_WRITE)) {
            throw new JailException("helper binary", what + " " + path + " must be owned by root and writable by root only (it is uid "
                    + uid + ", " + PosixFilePermissions.toString(perms) + ")");
        }
    }

    private static String sha256(byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
