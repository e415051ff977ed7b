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
 *
 * <p>Build one with {@link #builder()} (or change one with {@link #toBuilder()}), naming each
 * part: eighteen positional arguments are easy to swap unnoticed.
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
        boolean ksm) {

    /**
     * A builder without defaults for what only the supervisor can decide (name, hostname, the
     * directories, home path, uid, gid, argv, cwd: {@link Builder#build} refuses a spec without
     * them); the rest defaults to nothing extra: no /opt, 1M /tmp, no binds, groups or
     * environment, no limits, the default seccomp filter, no ksm.
     */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this spec's parts, to change some of them. */
    public Builder toBuilder() {
        return new Builder().name(name).hostname(hostname).distroRoot(distroRoot).runDir(runDir).homeDir(homeDir)
                .homePath(homePath).optDir(optDir).tmpBytes(tmpBytes).binds(binds).uid(uid).gid(gid).groups(groups)
                .argv(argv).env(env).cwd(cwd).limits(limits).seccomp(seccomp).ksm(ksm);
    }

    /** Names each part of a {@link JailSpec}; see {@link #builder()} for the defaults. */
    public static final class Builder {
        private String name;
        private String hostname;
        private Path distroRoot;
        private Path runDir;
        private Path homeDir;
        private String homePath;
        private Path optDir;
        private long tmpBytes = 1 << 20;
        private List<BindMount> binds = List.of();
        private int uid = -1;
        private int gid = -1;
        private List<Integer> groups = List.of();
        private List<String> argv;
        private List<String> env = List.of();
        private String cwd;
        private Limits limits = Limits.NONE;
        private SeccompPolicy seccomp = SeccompPolicy.DEFAULT;
        private boolean ksm;

        private Builder() {}

        public Builder name(String name) {
            this.name = name;
            return this;
        }

        public Builder hostname(String hostname) {
            this.hostname = hostname;
            return this;
        }

        public Builder distroRoot(Path distroRoot) {
            this.distroRoot = distroRoot;
            return this;
        }

        public Builder runDir(Path runDir) {
            this.runDir = runDir;
            return this;
        }

        public Builder homeDir(Path homeDir) {
            this.homeDir = homeDir;
            return this;
        }

        public Builder homePath(String homePath) {
            this.homePath = homePath;
            return this;
        }

        /** Null for the distro's own /opt. */
        public Builder optDir(Path optDir) {
            this.optDir = optDir;
            return this;
        }

        public Builder tmpBytes(long tmpBytes) {
            this.tmpBytes = tmpBytes;
            return this;
        }

        public Builder binds(List<BindMount> binds) {
            this.binds = binds;
            return this;
        }

        public Builder uid(int uid) {
            this.uid = uid;
            return this;
        }

        public Builder gid(int gid) {
            this.gid = gid;
            return this;
        }

        public Builder groups(List<Integer> groups) {
            this.groups = groups;
            return this;
        }

        public Builder argv(List<String> argv) {
            this.argv = argv;
            return this;
        }

        public Builder env(List<String> env) {
            this.env = env;
            return this;
        }

        public Builder cwd(String cwd) {
            this.cwd = cwd;
            return this;
        }

        public Builder limits(Limits limits) {
            this.limits = limits;
            return this;
        }

        public Builder seccomp(SeccompPolicy seccomp) {
            this.seccomp = seccomp;
            return this;
        }

        public Builder ksm(boolean ksm) {
            this.ksm = ksm;
            return this;
        }


        /** The spec; an {@link IllegalStateException} names the first part that was never given. */
        public JailSpec build() {
            require(name, "name");
            require(hostname, "hostname");
            require(distroRoot, "distroRoot");
            require(runDir, "runDir");
            require(homeDir, "homeDir");
            require(homePath, "homePath");
            require(argv, "argv");
            require(cwd, "cwd");
            if (uid < 0) throw new IllegalStateException("jail spec without uid");
            if (gid < 0) throw new IllegalStateException("jail spec without gid");
            return new JailSpec(name, hostname, distroRoot, runDir, homeDir, homePath, optDir, tmpBytes, binds, uid,
                    gid, groups, argv, env, cwd, limits, seccomp, ksm);
        }

        private static void require(Object part, String what) {
            if (part == null) throw new IllegalStateException("jail spec without " + what);
        }
    }
}
