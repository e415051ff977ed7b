package dev.emperor.jail.cgroup;

/**
 * A snapshot of one tenant cgroup's counters.
 *
 * @param memoryBytes   current memory use
 * @param cpuUsageNanos total CPU time used
 * @param oomKills      processes killed by the OOM killer inside this cgroup
 * @param tasks         number of tasks now in the cgroup
 */
public record CgroupStats(long memoryBytes, long cpuUsageNanos, long oomKills, long tasks) {}
