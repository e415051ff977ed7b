package dev.emperor.supervisor.config;

import dev.emperor.jail.BindMount;
import dev.emperor.jail.Limits;
import dev.emperor.jail.seccomp.SeccompPolicy;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;

/**
 * One vassal file, checked and with every default filled in. Built by
 * {@link VassalFiles#load}; nothing in it needs checking again.
 *
 * @param name         tenant name, from the file name
 * @param source       the file it was read from
 * @param argv         the main command, split into words (never empty)
 * @param env          extra environment, "KEY=VALUE" each, keys unique, in file order
 * @param uid          the uid to run as, if the file chose one (user or uid); empty means
 *                     "allocate from emperor.ini's uid-range"
 * @param gid          present exactly when {@code uid} is
 * @param distro       name of the distro in the store
 * @param hostname     hostname inside the tenant
 * @param memoryBytes  memory limit, 0 = none
 * @param cpuPercent   CPU quota in percent of one core, 0 = none
 * @param pids         task limit (always set)
 * @param tmpBytes     size of the private /tmp
 * @param cwd          working directory inside the tenant
 * @param homePath     home inside the tenant, under /home
 * @param binds        extra bind mounts, sources existing host paths, targets unique
 * @param seccompAllow relaxed syscalls, from {@link RelaxableSyscalls#NAMES} (sorted)
 * @param ksm          ask for kernel same-page merging
 * @param contentHash  SHA-256 of the file's bytes, lower-case hex, to notice changes
 * @param ports        services on public ports, names unique, in file order
 */
public record VassalConfig(
        String name,
        Path source,
        List<String> argv,
        List<String> env,
        OptionalInt uid,
        OptionalInt gid,
        String distro,
        String hostname,
        long memoryBytes,
        int cpuPercent,
        int pids,
        long tmpBytes,
        String cwd,
        String homePath,
        List<BindMount> binds,
        Set<String> seccompAllow,
        boolean ksm,
        String contentHash,
        List<PortService> ports) {

    public VassalConfig {
        ports = List.copyOf(ports);
        argv = List.copyOf(argv);
        env = List.copyOf(env);
        binds = List.copyOf(binds);
        seccompAllow = Collections.unmodifiableSortedSet(new TreeSet<>(seccompAllow));
    }

    /** A vassal without public ports (the shape before the {@code port} key existed). */
    public VassalConfig(String name, Path source, List<String> argv, List<String> env, OptionalInt uid,
            OptionalInt gid, String distro, String hostname, long memoryBytes, int cpuPercent, int pids,
            long tmpBytes, String cwd, String homePath, List<BindMount> binds, Set<String> seccompAllow,
            boolean ksm, String contentHash) {
        this(name, source, argv, env, uid, gid, distro, hostname, memoryBytes, cpuPercent, pids, tmpBytes, cwd,
                homePath, binds, seccompAllow, ksm, contentHash, List.of());
    }

    /** The cgroup limits in the jail's terms. */
    public Limits limits() {
        return new Limits(memoryBytes, cpuPercent, pids);
    }

    /** The seccomp relaxations in the jail's terms. */
    public SeccompPolicy seccompPolicy() {
        return seccompAllow.isEmpty() ? SeccompPolicy.DEFAULT : new SeccompPolicy(seccompAllow);
    }
}
