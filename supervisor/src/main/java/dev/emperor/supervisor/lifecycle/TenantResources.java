package dev.emperor.supervisor.lifecycle;

import dev.emperor.jail.cgroup.CgroupStats;
import dev.emperor.supervisor.config.VassalConfig;
import dev.emperor.supervisor.network.TenantNetwork;
import java.util.Optional;
import java.util.Set;

/** What a tenant holds on the host besides its payload, by name (implemented by {@link TenantLauncher}). */
public interface TenantResources {
    /** Kills what an earlier emperor left in the tenant's cgroup; returns the pids found there. */
    Set<Integer> killLeftovers(String name);

    /** After the payload's exit: no process, cgroup or mount point of the tenant remains. */
    void cleanUp(String name);

    void releaseDisk(String name);

    void removeRuntimeFiles(String name);

    /** Firewall, net-rate, web site and ports: applied to a running tenant without a restart. */
    void applyLiveSettings(String name, VassalConfig cfg);

    void forgetLiveSettings(String name);

    Optional<CgroupStats> stats(String name);

    Optional<TenantNetwork.Traffic> traffic(String name);
}
