package dev.emperor.jail.cgroup;

import static dev.emperor.jail.cgroup.CgroupFiles.keyedValue;
import static dev.emperor.jail.cgroup.CgroupFiles.readLong;
import static dev.emperor.jail.cgroup.CgroupFiles.write;

import dev.emperor.jail.Limits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * cgroup v1: one directory per controller hierarchy, {@code <hierarchy>/<subtree>/<tenant>}
 * in memory, cpu, cpuacct (the same directory when co-mounted as "cpu,cpuacct") and pids.
 * Set-up ({@link #create}) and tear-down ({@link TenantCgroup#killAll}, {@link
 * TenantCgroup#remove}) live side by side in this file.
 */
public final class CgroupV1Driver implements CgroupDriver {
    /** cpu.cfs_period_us: quotas are expressed per 100 ms, so 1 % of a core = 1000 us. */
    static final long CFS_PERIOD_US = 100_000;

    private final Path memory;
    private final Path cpu;
    private final Path cpuacct;
    private final Path pids;
    /** The freezer hierarchy, or null when the host has none (then kills are not atomic). */
    private final Path freezer;
    private final String subtree;
    /** Serialises creating and removing the subtree directory between tenants. */
    private final Object subtreeLock = new Object();

    /**
     * @param memory  mount point of the hierarchy carrying the memory controller
     * @param cpu     ... carrying cpu
     * @param cpuacct ... carrying cpuacct (equal to cpu when co-mounted)
     * @param pids    ... carrying pids
     * @param subtree Emperor's directory name inside each hierarchy, e.g. "emperor"
     */
    public CgroupV1Driver(Path memory, Path cpu, Path cpuacct, Path pids, String subtree) {
        this(memory, cpu, cpuacct, pids, null, subtree);
    }

    /** @param freezer mount point of the freezer hierarchy, or null if the host has none */
    public CgroupV1Driver(Path memory, Path cpu, Path cpuacct, Path pids, Path freezer, String subtree) {
        this.memory = memory;
        this.cpu = cpu;
        this.cpuacct = cpuacct;
        this.pids = pids;
        this.freezer = freezer;
        this.subtree = CgroupFiles.checkName("subtree", subtree);
    }

    @Override
    public String version() {
        return "v1";
    }

    @Override
    public TenantCgroup create(String tenant, Limits limits) {
        CgroupFiles.checkName("tenant", tenant);
        CgroupFiles.checkLimits(limits);
        V1Tenant cgroup = tenantCgroup(tenant);
        List<Path> made = new ArrayList<>();
        synchronized (subtreeLock) {
            try {
                for (Path hierarchy : hierarchies()) {
                    Path subtreeDir = hierarchy.resolve(subtree);
                    if (CgroupFiles.mkdir(subtreeDir)) {
                        made.add(subtreeDir);
                    }
                    Path tenantDir = subtreeDir.resolve(tenant);
                    if (CgroupFiles.mkdir(tenantDir)) {
                        made.add(tenantDir);
                    }
                }
                cgroup.update(limits);
            } catch (RuntimeException e) {
                CgroupFiles.undoCreate(made);
                throw e;
            }
        }
        return cgroup;
    }

    @Override
    public java.util.SortedSet<String> tenants() {
        return CgroupFiles.childNames(hierarchies().stream().map(h -> h.resolve(subtree)).toList());
    }

    @Override
    public Optional<TenantCgroup> open(String tenant) {
        CgroupFiles.checkName("tenant", tenant);
        V1Tenant cgroup = tenantCgroup(tenant);
        // Any one directory is enough: a half-removed tenant must still be removable.
        return cgroup.dirs.stream().anyMatch(Files::isDirectory)
                ? Optional.of(cgroup) : Optional.empty();
    }

    /** The distinct hierarchy mount points (cpu and cpuacct are one when co-mounted). */
    private Set<Path> hierarchies() {
        Set<Path> all = new LinkedHashSet<>(List.of(memory, cpu, cpuacct, pids));
        if (freezer != null) all.add(freezer);
        return all;
    }

    private V1Tenant tenantCgroup(String tenant) {
        return new V1Tenant(this, tenant,
                memory.resolve(subtree).resolve(tenant),
                cpu.resolve(subtree).resolve(tenant),
                cpuacct.resolve(subtree).resolve(tenant),
                pids.resolve(subtree).resolve(tenant),
                freezer == null ? null : freezer.resolve(subtree).resolve(tenant));
    }

    private void removeSubtreeIfUnused() {
        synchronized (subtreeLock) {
            for (Path hierarchy : hierarchies()) {
                CgroupFiles.removeSubtreeIfUnused(hierarchy.resolve(subtree));
            }
        }
    }

    private static final class V1Tenant implements TenantCgroup {
        private final CgroupV1Driver driver;
        private final String tenant;
        private final Path memoryDir;
        private final Path cpuDir;
        private final Path cpuacctDir;
        private final Path pidsDir;
        private final Path freezerDir; // null without a freezer hierarchy
        private final List<Path> dirs;

        V1Tenant(CgroupV1Driver driver, String tenant, Path memoryDir, Path cpuDir,
                Path cpuacctDir, Path pidsDir, Path freezerDir) {
            this.driver = driver;
            this.tenant = tenant;
            this.memoryDir = memoryDir;
            this.cpuDir = cpuDir;
            this.cpuacctDir = cpuacctDir;
            this.pidsDir = pidsDir;
            this.freezerDir = freezerDir;
            Set<Path> all = new LinkedHashSet<>(List.of(memoryDir, cpuDir, cpuacctDir, pidsDir));
            if (freezerDir != null) all.add(freezerDir);
            this.dirs = List.copyOf(all);
        }

        @Override
        public String tenant() {
            return tenant;
        }

        @Override
        public List<Path> procsFiles() {
            return dirs.stream().map(dir -> dir.resolve("cgroup.procs")).toList();
        }

        @Override
        public void update(Limits limits) {
            CgroupFiles.checkLimits(limits);
            updateMemory(limits.memoryBytes());
            write(cpuDir.resolve("cpu.cfs_period_us"), Long.toString(CFS_PERIOD_US));
            write(cpuDir.resolve("cpu.cfs_quota_us"), limits.cpuPercent() == 0
                    ? "-1" : Long.toString(limits.cpuPercent() * CFS_PERIOD_US / 100));
            write(pidsDir.resolve("pids.max"), limits.pids() == 0
                    ? "max" : Integer.toString(limits.pids()));
        }

        /**
         * With swap accounting (memory.memsw.* present) memory+swap gets the same limit as
         * memory, so the tenant cannot use swap at all. The kernel insists on
         * limit <= memsw.limit at every moment: raise memsw first, lower it last.
         * Without swap accounting the best v1 offers is swappiness 0.
         */
        private void updateMemory(long bytes) {
            String value = bytes == 0 ? "-1" : Long.toString(bytes);
            Path limit = memoryDir.resolve("memory.limit_in_bytes");
            Path memsw = memoryDir.resolve("memory.memsw.limit_in_bytes");
            if (!Files.exists(memsw)) {
                write(limit, value);
                write(memoryDir.resolve("memory.swappiness"), "0");
                return;
            }
            long wanted = bytes == 0 ? Long.MAX_VALUE : bytes;
            if (wanted >= readLong(limit)) {
                write(memsw, value);
                write(limit, value);
            } else {
                write(limit, value);
                write(memsw, value);
            }
        }

        @Override
        public CgroupStats stats() {
            return new CgroupStats(
                    readLong(memoryDir.resolve("memory.usage_in_bytes")),
                    readLong(cpuacctDir.resolve("cpuacct.usage")),
                    // "oom_kill N" exists since Linux 4.13; older kernels do not count.
                    keyedValue(memoryDir.resolve("memory.oom_control"), "oom_kill"),
                    CgroupFiles.pids(pidsDir.resolve("cgroup.procs")).size());
        }

        /** Every process in any of the tenant's hierarchies (a move may be half done). */
        @Override
        public Set<Integer> pids() {
            Set<Integer> all = new TreeSet<>();
            for (Path procs : procsFiles()) {
                all.addAll(CgroupFiles.pids(procs));
            }
            return all;
        }

        /**
         * v1 has no cgroup.kill: with a freezer, the cgroup is frozen first (no process can
         * fork or exit while the list is read), every member gets SIGKILL, and the thaw lets
         * them die at once. Then, and without a freezer, each pid is signalled again until
         * none is left. Each one is pinned with a pidfd and checked to still be a member before
         * the signal, so a pid reused by another process in between is never hit.
         */
        @Override
        public void killAll() {
            if (freezerDir != null && Files.isDirectory(freezerDir) && !pids().isEmpty()) {
                write(freezerDir.resolve("freezer.state"), "FROZEN");
                try {
                    CgroupFiles.awaitFrozen(freezerDir.resolve("freezer.state"));
                    CgroupSyscalls.sigkillMembers(pids(), this::pids);
                } finally {
                    write(freezerDir.resolve("freezer.state"), "THAWED");
                }
            }
            CgroupFiles.killUntilEmpty(tenant, this::pids,
                    left -> CgroupSyscalls.sigkillMembers(left, this::pids));
        }

        @Override
        public SessionCgroup newSession(String name) {
            return SessionCgroup.create(tenant, dirs, name);
        }

        @Override
        public void remove() {
            CgroupFiles.removeDirs(dirs);
            driver.removeSubtreeIfUnused();
        }
    }
}
