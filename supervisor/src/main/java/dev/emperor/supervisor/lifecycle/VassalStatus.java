package dev.emperor.supervisor.lifecycle;

import dev.emperor.supervisor.services.CronJobStatus;
import dev.emperor.supervisor.services.DaemonStatus;
import java.util.List;

/**
 * What `emperor status` shows for one tenant.
 *
 * @param state        the {@link VassalState} label
 * @param reason       why it is in that state (the last transition's cause)
 * @param pid          host pid of the tenant's pid 1, 0 if not running
 * @param uptimeSeconds how long the current payload has run
 * @param restarts     crashes so far (operator restarts and reloads do not count)
 * @param lastExit     how the previous payload ended, or null
 * @param lastError    the current configuration or spawn error, or null
 * @param retryInSeconds seconds until the next respawn attempt while backing off
 * @param address      the tenant's tun0 address, or null if it never had one
 * @param packetsIn    packets delivered to the tenant since its tun0 was attached (likewise the
 *                     other counters; drops are every packet to or from it that was refused)
 * @param dropsByReason those drops by reason ("over-rate", "queue-full", "firewall", ...), non-zero ones only
 * @param daemons      its attached daemons, in file order (empty while it is not running)
 * @param cron         its cron jobs, in file order (empty while it is not running)
 * @param logProblem   why its log cannot be written now (e.g. "log directory read-only (DIR): ..."), or null
 * @param logLinesDropped its lines dropped because its log could not be written, since the emperor started
 */
public record VassalStatus(
        String name,
        String state,
        String reason,
        int pid,
        long uptimeSeconds,
        int restarts,
        String lastExit,
        String lastError,
        long memoryBytes,
        long cpuNanos,
        long oomKills,
        long tasks,
        String file,
        String distro,
        int uid,
        long retryInSeconds,
        String address,
        long packetsIn,
        long packetsOut,
        long bytesIn,
        long bytesOut,
        long drops,
        java.util.Map<String, Long> dropsByReason,
        List<DaemonStatus> daemons,
        List<CronJobStatus> cron,
        String logProblem,
        long logLinesDropped) {}
