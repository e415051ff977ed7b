package dev.emperor.jail;

import dev.emperor.jail.seccomp.SeccompPolicy;
import java.nio.file.Path;
import java.util.List;

/**
 * Everything needed to start one tenant's jail. Decided entirely by the supervisor; the jail
 * module adds no policy of its own.
 *
 * @param name       tenant name (already validated: [a-z0-9][a-z0-9_-]{0,31}); names cgroup and mount dir
 * @param hostname   the tenant's hostname (its own UTS namespace)
 * @param distroRoot host directory holding the distro; becomes the tenant's read-only "/"
 * @param runDir     host directory bound to the tenant's /run (Debian's /var/run links there); writable
 * @param homeDir    host directory bound writable at {@code homePath}
 * @param homePath   absolute path of the home inside the tenant, e.g. /home/alice
 * @param optDir     host directory bound read-only at /opt, or null for the distro's own /opt
 * @param tmpBytes   size of the tenant's private /tmp (tmpfs)
 * @param binds      extra bind mounts
 * @param uid        unprivileged uid the tenant runs as (never 0)
 * @param gid        its primary gid (never 0)
 * @param groups     supplementary gids (may be empty)
 * @param argv       the payload command; argv[0] is looked up on the tenant's PATH
 * @param env        the payload's environment, "KEY=VALUE" each
 * @param cwd        working directory inside the tenant
 * @param limits     cgroup limits
 * @param seccomp    the syscall filter installed just before the payload runs
 * @param ksm        ask the kernel to merge identical pages (PR_SET_MEMORY_MERGE)
 */
public record JailSpec(
        String name,
        String hostname,
        Path distroRoot,
        Path runDir,
        Path homeDir,
        String homePath,
        Path optDir,
        long tmpBytes,
        List<BindMount> binds,
        int uid,
        int gid,
        List<Integer> groups,
        List<String> argv,
        List<String> env,
        String cwd,
        Limits limits,
        SeccompPolicy seccomp,
        boolean ksm) {}
