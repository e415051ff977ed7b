package dev.emperor.jail;

import dev.emperor.jail.cgroup.CgroupDriver;
import java.nio.file.Path;
import java.util.Objects;

/**
 * How a {@link Jail} is set up on this host.
 *
 * @param helperBinary an existing emperor-init binary to use, or null to extract the one in
 *                     the jar into {@code helperDir}
 * @param helperDir    root-owned directory the jar's helper is extracted into (when
 *                     {@code helperBinary} is null), e.g. /var/lib/emperor/bin
 * @param jailsDir     directory under which each tenant's root mount point DIR/NAME is made,
 *                     e.g. /run/emperor/jails; the mounts on it exist only in the tenant's own
 *                     mount namespace
 * @param cgroups      the driver owning Emperor's cgroup subtree
 */
public record JailSettings(Path helperBinary, Path helperDir, Path jailsDir, CgroupDriver cgroups) {
    public JailSettings {
        if ((helperBinary == null) == (helperDir == null)) {
            throw new IllegalArgumentException("give exactly one of helperBinary and helperDir");
        }
        Objects.requireNonNull(jailsDir, "jailsDir");
        Objects.requireNonNull(cgroups, "cgroups");
    }

    /** Settings that extract the jar's helper into helperDir. */
    public static JailSettings extractingHelper(Path helperDir, Path jailsDir, CgroupDriver cgroups) {
        return new JailSettings(null, helperDir, jailsDir, cgroups);
    }

    /** Settings that use an installed helper binary. */
    public static JailSettings withHelper(Path helperBinary, Path jailsDir, CgroupDriver cgroups) {
        return new JailSettings(helperBinary, null, jailsDir, cgroups);
    }
}
