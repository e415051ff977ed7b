package dev.emperor.jail.cgroup;

import static dev.emperor.jail.cgroup.CgroupFiles.keyedValue;
import static dev.emperor.jail.cgroup.CgroupFiles.readLong;
import static dev.emperor.jail.cgroup.CgroupFiles.write;

import dev.emperor.jail.Limits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * cgroup v2: one unified tree, {@code <parent>/<subtree>/<tenant>}. The parent is the cgroup2
 * mount point, or on a systemd host the emperor's own delegated cgroup (Delegate=yes), e.g.
 * /sys/fs/cgroup/system.slice/emperor.service. Set-up and tear-down side by side.
 *
 * <p>v2's "no internal processes" rule: a cgroup that hands controllers to its children
 * (cgroup.subtree_control) may not hold processes itself. So processes only ever go into
 * tenant leaves, never into the subtree directory, and on a delegated host the emperor must
 * have moved itself out of the parent into a leaf of its own before the first create().
 */
public final class CgroupV2Driver implements CgroupDriver {
    /** The controllers Emperor limits, in the order they are enabled. */
    private static final List<String> CONTROLLERS = List.of("memory", "cpu", "pids");
    /** cpu.max period: quotas are per 100 ms, so 1 % of a core = 1000 us. */
    static final long CPU_PERIOD_US = 100_000;

    private final Path parent;
    private final String subtree;
    /** Serialises creating and removing the subtree directory between tenants. */
    private final Object subtreeLock = new Object();

    /**
     * @param parent  an existing cgroup2 directory Emperor may create its subtree in
     * @param subtree Emperor's directory name inside parent, e.g. "emperor"
     */
    public CgroupV2Driver(Path parent, String subtree) {
        this.parent = parent;
        this.subtree = CgroupFiles.checkName("subtree", subtree);
    }

    @Override
    public String version() {
        return "v2";
    }

    @Override
    public TenantCgroup create(String tenant, Limits limits) {
        CgroupFiles.checkName("tenant", tenant);
        CgroupFiles.checkLimits(limits);
        Path subtreeDir = parent.resolve(subtree);
        V2Tenant cgroup = new V2Tenant(this, tenant, subtreeDir.resolve(tenant));
        List<Path> made = new ArrayList<>();
        synchronized (subtreeLock) {
            try {
                // A controller reaches a cgroup only if every ancestor lists it in
                // cgroup.subtree_control: enable it in the parent, then in the subtree.
                enableControllers(parent);
                if (CgroupFiles.mkdir(subtreeDir)) {
                    made.add(subtreeDir);
                }
                enableControllers(subtreeDir);
                if (CgroupFiles.mkdir(cgroup.dir)) {
                    made.add(cgroup.dir);
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
        return CgroupFiles.childNames(List.of(parent.resolve(subtree)));
    }

    @Override
    public Optional<TenantCgroup> open(String tenant) {
        CgroupFiles.checkName("tenant", tenant);
        Path dir = parent.resolve(subtree).resolve(tenant);
        return Files.isDirectory(dir) ? Optional.of(new V2Tenant(this, tenant, dir)) : Optional.empty();
    }

    /**
     * Enables memory, cpu and pids for dir's children: only those dir has (cgroup.controllers)
     * and has not enabled yet, so nothing is written when all is in place (e.g. systemd
     * already enabled them at the root). A missing controller shows up later as a missing
     * limit file, which names it.
     */
    private static void enableControllers(Path dir) {
        Set<String> available = CgroupFiles.words(dir.resolve("cgroup.controllers"));
        Set<String> enabled = CgroupFiles.words(dir.resolve("cgroup.subtree_control"));
        List<String> missing = CONTROLLERS.stream()
                .filter(c -> available.contains(c) && !enabled.contains(c))
                .map(c -> "+" + c)
                .toList();
        if (!missing.isEmpty()) {
            write(dir.resolve("cgroup.subtree_control"), String.join(" ", missing));
        }
    }

    private void removeSubtreeIfUnused() {
        synchronized (subtreeLock) {
            CgroupFiles.removeSubtreeIfUnused(parent.resolve(subtree));
        }
    }

    private static final class V2Tenant implements TenantCgroup {
        private final CgroupV2Driver driver;
        private final String tenant;
        private final Path dir;

        V2Tenant(CgroupV2Driver driver, String tenant, Path dir) {
            this.driver = driver;
            this.tenant = tenant;
            this.dir = dir;
        }

        @Override
        public String tenant() {
            return tenant;
        }

        @Override
        public List<Path> procsFiles() {
            return List.of(dir.resolve("cgroup.procs"));
        }

        @Override
        public void update(Limits limits) {
            CgroupFiles.checkLimits(limits);
            long memory = limits.memoryBytes();
            write(dir.resolve("memory.max"), memory == 0 ? "max" : Long.toString(memory));
            // No swap for a limited tenant, so the limit is a real one. The file is absent
            // when the kernel does no swap accounting; then there is nothing to set.
            Path swapMax = dir.resolve("memory.swap.max");
            if (Files.exists(swapMax)) {
                write(swapMax, memory == 0 ? "max" : "0");
            }
            write(dir.resolve("cpu.max"), (limits.cpuPercent() == 0
                    ? "max" : Long.toString(limits.cpuPercent() * CPU_PERIOD_US / 100))
                    + " " + CPU_PERIOD_US);
            write(dir.resolve("pids.max"), limits.pids() == 0 ? "max" : Integer.toString(limits.pids()));
        }

        @Override
        public CgroupStats stats() {
            return new CgroupStats(
                    readLong(dir.resolve("memory.current")),
                    keyedValue(dir.resolve("cpu.stat"), "usage_usec") * 1000,
                    keyedValue(dir.resolve("memory.events"), "oom_kill"),
                    pids().size());
        }

        @Override
        public Set<Integer> pids() {
            return CgroupFiles.pids(dir.resolve("cgroup.procs"));
        }

        /**
         * cgroup.kill (Linux 5.14+) SIGKILLs every process in the cgroup in one step, with no
         * pid-reuse window and no race with fork; older kernels get one pidfd-pinned kill per pid.
         */
        @Override
        public void killAll() {
            Path kill = dir.resolve("cgroup.kill");
            boolean atomic = Files.exists(kill);
            CgroupFiles.killUntilEmpty(tenant, this::pids, left -> {
                if (atomic) {
                    write(kill, "1");
                } else {
                    CgroupSyscalls.sigkillMembers(left, this::pids);
                }
            });
        }

        @Override
        public SessionCgroup newSession(String name) {
            return SessionCgroup.create(tenant, List.of(dir), name);
        }

        @Override
        public void remove() {
            CgroupFiles.removeDirs(List.of(dir));
            driver.removeSubtreeIfUnused();
        }
    }
}
