package dev.emperor.jail;

import dev.emperor.jail.seccomp.SeccompPolicy;
import java.util.List;

/**
 * A command to run inside a running tenant (shell, cron job, attached daemon): same
 * namespaces, cgroup, uid, root and seccomp filter as the tenant's payload.
 *
 * @param argv       the command, looked up on the tenant's PATH
 * @param env        "KEY=VALUE" each
 * @param cwd        working directory inside the tenant
 * @param uid        uid to run as (the tenant's)
 * @param gid        gid to run as
 * @param groups     supplementary gids
 * @param newSession start a new session; if stdin is a terminal it becomes the controlling tty
 * @param seccomp    the tenant's syscall filter policy (the jail cannot read it back from a
 *                   running tenant, least of all from one adopted after a restart)
 */
public record EnterSpec(
        List<String> argv,
        List<String> env,
        String cwd,
        int uid,
        int gid,
        List<Integer> groups,
        boolean newSession,
        SeccompPolicy seccomp) {

    /** A command under the default (strictest) seccomp policy. */
    public EnterSpec(List<String> argv, List<String> env, String cwd, int uid, int gid, List<Integer> groups, boolean newSession) {
        this(argv, env, cwd, uid, gid, groups, newSession, SeccompPolicy.DEFAULT);
    }
}
