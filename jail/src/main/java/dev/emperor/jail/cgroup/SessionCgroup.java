package dev.emperor.jail.cgroup;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * A child of a tenant's cgroup holding the processes of one entered session (a root
 * `emperor shell`), so that all of them can be killed when the session ends: a process that
 * calls setsid and double-forks leaves its process group and its parent, never its cgroup
 * (the tenant cannot write to cgroup files). The tenant's limits still apply to it, as cgroup
 * limits are hierarchical on v1 and v2 alike.
 *
 * <p>On v2 the tenant's cgroup has processes of its own; that is allowed because it enables
 * no controllers for its children (cgroup.subtree_control stays empty), and only that would
 * trip the no-internal-processes rule. On v1 the child is made in each of the tenant's
 * hierarchies, as the tenant's own directories are.
 */
public final class SessionCgroup implements AutoCloseable {
    private final String tenant;
    private final List<Path> dirs;

    private SessionCgroup(String tenant, List<Path> dirs) {
        this.tenant = tenant;
        this.dirs = dirs;
    }

    /** Makes NAME under each of the tenant's cgroup directories. */
    static SessionCgroup create(String tenant, List<Path> tenantDirs, String name) {
        CgroupFiles.checkName("session", name);
        List<Path> made = new ArrayList<>();
        try {
            for (Path dir : tenantDirs) {
                Path child = dir.resolve(name);
                CgroupFiles.mkdir(child);
                made.add(child);
            }
        } catch (RuntimeException e) {
            CgroupFiles.undoCreate(made);
            throw e;
        }
        return new SessionCgroup(tenant, List.copyOf(made));
    }

    /** The cgroup.procs files a process joins (see {@link TenantCgroup#procsFiles()}). */
    public List<Path> procsFiles() {
        return dirs.stream().map(dir -> dir.resolve("cgroup.procs")).toList();
    }

    /** Host pids of every process in the session's cgroup. */
    public Set<Integer> pids() {
        Set<Integer> all = new TreeSet<>();
        for (Path procs : procsFiles()) all.addAll(CgroupFiles.pids(procs));
        return all;
    }

    /**
     * SIGKILLs every process of the session and waits until none is left: v2's cgroup.kill in
     * one step where the kernel has it, else a pidfd-pinned kill per member, repeated until
     * the cgroup is empty (a fork in between is caught by the next round).
     */
    public void killAll() {
        Path kill = dirs.get(0).resolve("cgroup.kill");
        boolean atomic = dirs.size() == 1 && Files.exists(kill);
        CgroupFiles.killUntilEmpty(tenant, this::pids, left -> {
            if (atomic) {
                CgroupFiles.write(kill, "1");
            } else {
                CgroupSyscalls.sigkillMembers(left, this::pids);
            }
        });
    }

    /** Kills what is left and removes the directories. */
    @Override
    public void close() {
        try {
            killAll();
        } finally {
            CgroupFiles.removeDirs(dirs);
        }
    }
}
