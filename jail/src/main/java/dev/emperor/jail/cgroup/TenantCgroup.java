package dev.emperor.jail.cgroup;

import dev.emperor.jail.Limits;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/** One tenant's cgroup (on v1, its directory in each controller hierarchy Emperor uses). */
public interface TenantCgroup {
    String tenant();

    /**
     * The files a process writes "0" to in order to move itself into this cgroup
     * (v2: one cgroup.procs; v1: cgroup.procs in each hierarchy). The jail opens them and
     * passes the fds to the helper, so the move happens in the child with no race.
     */
    List<Path> procsFiles();

    void update(Limits limits);

    CgroupStats stats();

    /** Host pids of every process now in the cgroup. */
    Set<Integer> pids();

    /** SIGKILLs every process in the cgroup and waits (bounded) until it is empty. */
    void killAll();

    /** A new child cgroup for one entered session's processes (see {@link SessionCgroup}). */
    SessionCgroup newSession(String name);

    /** Removes the (empty) cgroup directories, and empty session cgroups left under them. */
    void remove();
}
