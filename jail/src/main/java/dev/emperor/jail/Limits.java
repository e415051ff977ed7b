package dev.emperor.jail;

/**
 * Resource limits of one tenant's cgroup. Zero means "no limit".
 *
 * @param memoryBytes hard memory limit; swap is disabled for the tenant when set
 * @param cpuPercent  CPU quota in percent of one core (50 = half a core, 200 = two cores)
 * @param pids        maximum number of tasks (processes and threads)
 */
public record Limits(long memoryBytes, int cpuPercent, int pids) {
    public static final Limits NONE = new Limits(0, 0, 0);
}
