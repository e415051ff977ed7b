package dev.emperor.supervisor.config;

import dev.emperor.jail.BindMount;
import dev.emperor.jail.Limits;
import dev.emperor.tunrouter.FirewallRules;
import dev.emperor.jail.seccomp.SeccompPolicy;
import dev.emperor.supervisor.services.CronJob;
import dev.emperor.supervisor.services.DaemonSpec;
import java.nio.file.Path;
import java.time.Duration;
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
 * @param disk         size and inodes of the image holding the home and /run, or unlimited
 * @param cwd          working directory inside the tenant
 * @param homePath     home inside the tenant, under /home
 * @param binds        extra bind mounts, sources existing host paths, targets unique
 * @param seccompAllow relaxed syscalls, from {@link RelaxableSyscalls#NAMES} (sorted)
 * @param ksm          ask for kernel same-page merging
 * @param firewall     the tenant's own firewall rules (firewall-out, firewall-in), read after
 *                     Emperor's built-in denials and before emperor.ini's rules
 * @param web          the tenant's web site for the front proxy, or null if it names no domain
 * @param contentHash  SHA-256 of the file's bytes, lower-case hex, to notice changes
 * @param cron         cron jobs, in file order
 * @param daemons      attached daemons, in file order
 * @param cronTimeout  longest run of each cron job
 * @param ports        services on public ports, names unique, in file order
 * @param netRate      the tenant's rate through the tun router in bytes per second, each way; 0 = none
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
        DiskQuota disk,
        String cwd,
        String homePath,
        List<BindMount> binds,
        Set<String> seccompAllow,
        boolean ksm,
        FirewallRules firewall,
        WebSite web,
        String contentHash,
        List<CronJob> cron,
        List<DaemonSpec> daemons,
        Duration cronTimeout,
        List<PortService> ports,
        long netRate) {

    /** The default time limit of a cron job. */
    public static final Duration DEFAULT_CRON_TIMEOUT = Duration.ofHours(1);

    public VassalConfig {
        ports = List.copyOf(ports);
        cron = List.copyOf(cron);
        daemons = List.copyOf(daemons);
        argv = List.copyOf(argv);
        env = List.copyOf(env);
        binds = List.copyOf(binds);
        seccompAllow = Collections.unmodifiableSortedSet(new TreeSet<>(seccompAllow));
    }

    /**
     * Whether a tenant running {@code this} configuration must be restarted to run
     * {@code next}: true unless they differ only in settings applied to a running tenant
     * (its firewall rules and net-rate, its web site and public ports, its cron jobs and daemons: these
     * are started and stopped next to the payload). New keys are restart-worthy unless listed here.
     */
    public boolean needsRestartFor(VassalConfig next) {
        VassalConfig thisWithNextLiveSettings = new VassalConfig(name, source, argv, env, uid, gid, distro, hostname,
                memoryBytes, cpuPercent, pids, tmpBytes, disk, cwd, homePath, binds, seccompAllow, ksm,
                next.firewall, next.web, next.contentHash, next.cron, next.daemons, next.cronTimeout, next.ports,
                next.netRate);
        return !thisWithNextLiveSettings.equals(next);
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
