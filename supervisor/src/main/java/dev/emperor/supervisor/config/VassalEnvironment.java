package dev.emperor.supervisor.config;

import java.util.Optional;

/**
 * What checking a vassal file needs to know about the host: which distros exist and which
 * accounts. {@link HostVassalEnvironment} answers from the real host; tests use their own.
 */
public interface VassalEnvironment {

    /** The uid and primary gid of a host account (as in /etc/passwd; up to 2^32-1). */
    record HostAccount(long uid, long gid) {}

    /** The tmp-size a vassal gets when its file names none (emperor.ini {@code tmp-size}). */
    long DEFAULT_TMP_BYTES = 64L << 20;

    /** Whether the distro store holds a distro of that (already validated) name. */
    boolean distroExists(String name);

    /**
     * The account of that name, or empty if there is none.
     *
     * @throws java.io.UncheckedIOException if the account database cannot be read
     */
    Optional<HostAccount> lookupUser(String name);

    /**
     * The host directory of a distro that exists, to check a file against (its bind targets),
     * or empty when there is none to look at.
     */
    default Optional<java.nio.file.Path> distroRoot(String name) {
        return Optional.empty();
    }

    /** disk and inodes for vassals that do not set them (emperor.ini {@code disk-default}, {@code inodes-default}). */
    default DiskQuota defaultDisk() {
        return DiskQuota.DEFAULT;
    }

    /** tmp-size for vassals that do not set one. */
    default long defaultTmpBytes() {
        return DEFAULT_TMP_BYTES;
    }
}
