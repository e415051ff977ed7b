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
        return !withLiveSettingsOf(next).equals(next);
    }

    /**
     * This config with {@code other}'s live settings (those a running tenant takes without a
     * restart: firewall, web site, file hash, cron jobs and timeout, daemons, ports, net-rate).
     */
    public VassalConfig withLiveSettingsOf(VassalConfig other) {
        return toBuilder().firewall(other.firewall).web(other.web).contentHash(other.contentHash).cron(other.cron)
                .daemons(other.daemons).cronTimeout(other.cronTimeout).ports(other.ports).netRate(other.netRate).build();
    }

    /**
     * A builder for a config made by hand (tests, tools): name, source, argv, distro, hostname,
     * cwd, homePath and contentHash must be given; the rest defaults to nothing extra (no environment, uid, limits, binds, relaxations,
     * firewall rules, web site, cron jobs, daemons or ports; the default /tmp size and cron
     * timeout; an unlimited disk). {@link VassalFiles#load} fills in the real defaults.
     */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this config's values, to change some of them. */
    public Builder toBuilder() {
        return new Builder().name(name).source(source).argv(argv).env(env).uid(uid).gid(gid).distro(distro)
                .hostname(hostname).memoryBytes(memoryBytes).cpuPercent(cpuPercent).pids(pids).tmpBytes(tmpBytes)
                .disk(disk).cwd(cwd).homePath(homePath).binds(binds).seccompAllow(seccompAllow).ksm(ksm)
                .firewall(firewall).web(web).contentHash(contentHash).cron(cron).daemons(daemons)
                .cronTimeout(cronTimeout).ports(ports).netRate(netRate);
    }

    /** Names each part of a {@link VassalConfig}; see {@link #builder()} for the defaults. */
    public static final class Builder {
        private String name;
        private Path source;
        private List<String> argv;
        private List<String> env = List.of();
        private OptionalInt uid = OptionalInt.empty();
        private OptionalInt gid = OptionalInt.empty();
        private String distro;
        private String hostname;
        private long memoryBytes;
        private int cpuPercent;
        private int pids;
        private long tmpBytes = VassalEnvironment.DEFAULT_TMP_BYTES;
        private DiskQuota disk = DiskQuota.UNLIMITED;
        private String cwd;
        private String homePath;
        private List<BindMount> binds = List.of();
        private Set<String> seccompAllow = Set.of();
        private boolean ksm;
        private FirewallRules firewall = FirewallRules.NONE;
        private WebSite web;
        private String contentHash;
        private List<CronJob> cron = List.of();
        private List<DaemonSpec> daemons = List.of();
        private Duration cronTimeout = VassalKey.CRON_TIMEOUT.defaultDuration();
        private List<PortService> ports = List.of();
        private long netRate;

        private Builder() {}

        public Builder name(String name) {
            this.name = name;
            return this;
        }

        public Builder source(Path source) {
            this.source = source;
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

        public Builder uid(OptionalInt uid) {
            this.uid = uid;
            return this;
        }

        public Builder gid(OptionalInt gid) {
            this.gid = gid;
            return this;
        }

        public Builder distro(String distro) {
            this.distro = distro;
            return this;
        }

        public Builder hostname(String hostname) {
            this.hostname = hostname;
            return this;
        }

        public Builder memoryBytes(long memoryBytes) {
            this.memoryBytes = memoryBytes;
            return this;
        }

        public Builder cpuPercent(int cpuPercent) {
            this.cpuPercent = cpuPercent;
            return this;
        }

        public Builder pids(int pids) {
            this.pids = pids;
            return this;
        }

        public Builder tmpBytes(long tmpBytes) {
            this.tmpBytes = tmpBytes;
            return this;
        }

        public Builder disk(DiskQuota disk) {
            this.disk = disk;
            return this;
        }

        public Builder cwd(String cwd) {
            this.cwd = cwd;
            return this;
        }

        public Builder homePath(String homePath) {
            this.homePath = homePath;
            return this;
        }

        public Builder binds(List<BindMount> binds) {
            this.binds = binds;
            return this;
        }

        public Builder seccompAllow(Set<String> seccompAllow) {
            this.seccompAllow = seccompAllow;
            return this;
        }

        public Builder ksm(boolean ksm) {
            this.ksm = ksm;
            return this;
        }

        public Builder firewall(FirewallRules firewall) {
            this.firewall = firewall;
            return this;
        }

        public Builder web(WebSite web) {
            this.web = web;
            return this;
        }

        public Builder contentHash(String contentHash) {
            this.contentHash = contentHash;
            return this;
        }

        public Builder cron(List<CronJob> cron) {
            this.cron = cron;
            return this;
        }

        public Builder daemons(List<DaemonSpec> daemons) {
            this.daemons = daemons;
            return this;
        }

        public Builder cronTimeout(Duration cronTimeout) {
            this.cronTimeout = cronTimeout;
            return this;
        }

        public Builder ports(List<PortService> ports) {
            this.ports = ports;
            return this;
        }

        public Builder netRate(long netRate) {
            this.netRate = netRate;
            return this;
        }

        /** The config; an {@link IllegalStateException} names the first required part never given. */
        public VassalConfig build() {
            require(name, "name");
            require(source, "source");
            require(argv, "argv");
            require(distro, "distro");
            require(hostname, "hostname");
            require(cwd, "cwd");
            require(homePath, "homePath");
            require(contentHash, "contentHash");
            return new VassalConfig(name, source, argv, env, uid, gid, distro, hostname, memoryBytes, cpuPercent, pids, tmpBytes, disk, cwd, homePath, binds, seccompAllow, ksm, firewall, web, contentHash, cron, daemons, cronTimeout, ports, netRate);
        }

        private static void require(Object part, String what) {
            if (part == null) throw new IllegalStateException("vassal config without " + what);
        }
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
