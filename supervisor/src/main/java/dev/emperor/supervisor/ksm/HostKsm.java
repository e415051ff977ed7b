package dev.emperor.supervisor.ksm;

import dev.emperor.supervisor.config.KsmRun;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collection;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host's KSM daemon (/sys/kernel/mm/ksm/run: 0 stopped, 1 running, 2 stopped after
 * unmerging everything). A vassal's {@code ksm = yes} only marks its memory mergeable
 * (PR_SET_MEMORY_MERGE); nothing is merged unless ksmd runs. emperor.ini's {@code ksm-run}
 * says whether the emperor starts it: {@code on} at start, {@code auto} once a vassal asks,
 * {@code off} never (a vassal that asks then gets a warning in the log and in status).
 *
 * <p>Other things on the host may depend on ksmd's setting, so the emperor never stops a ksmd
 * it did not start, and at shutdown (or when ksm-run no longer asks for it) it writes back the
 * value it found, unless someone changed the setting since. The value found is kept in
 * {@code STATE-DIR/ksm-run.before} while changed, so an emperor that crashed still restores it
 * at its next shutdown.
 */
public final class HostKsm {
    private static final Logger log = LoggerFactory.getLogger(HostKsm.class);

    public static final Path RUN = Path.of("/sys/kernel/mm/ksm/run");
    private static final String RUNNING = "1";

    private final Path saved;
    /** The host's value before the emperor changed it, or null while it has not. */
    private String before;
    private KsmRun mode;
    /** Tenants whose last valid file says ksm = yes. */
    private final Set<String> asking = new TreeSet<>();

    private HostKsm(Path saved, String before) {
        this.saved = saved;
        this.before = before;
    }

    /** Reads what an earlier emperor may have left to restore; call {@link #use} next. */
    public static HostKsm open(Path stateDir) throws IOException {
        Path saved = stateDir.resolve("ksm-run.before");
        String before = null;
        try {
            before = Files.readString(saved, StandardCharsets.US_ASCII).strip();
            if (!before.matches("[012]")) {
                log.warn("ignoring {}: {} is not a ksmd run value", saved, before);
                before = null;
            }
        } catch (NoSuchFileException e) {
            // the usual case: the emperor has not changed the host's setting
        }
        return new HostKsm(saved, before);
    }

    /** The host's ksmd setting: "on", "off", "unmerge", or "unavailable" (no KSM in this kernel). */
    public static String state() {
        String value = read();
        if (value == null) return "unavailable";
        return switch (value) {
            case "1" -> "on";
            case "0" -> "off";
            case "2" -> "unmerge";
            default -> value;
        };
    }

    public static boolean running() {
        return RUNNING.equals(read());
    }

    /** ksm-run from emperor.ini, at start and on SIGHUP. */
    public synchronized void use(KsmRun mode) {
        this.mode = mode;
        switch (mode) {
            case ON -> start("ksm-run = on");
            case AUTO -> {
                if (!asking.isEmpty()) start("ksm-run = auto and ksm = yes in " + asking);
                else restore();
            }
            case OFF -> restore();
        }
        warnIfIdle();
    }

    public synchronized KsmRun mode() {
        return mode;
    }

    /** True while the emperor has changed the host's setting (and will restore it). */
    public synchronized boolean changedByEmperor() {
        return before != null;
    }

    /** A vassal's file was read: does it ask for ksm? */
    public synchronized void asks(String tenant, boolean wants) {
        boolean changed = wants ? asking.add(tenant) : asking.remove(tenant);
        if (!wants || !changed) return;
        if (mode == KsmRun.AUTO) start("ksm-run = auto and vassal " + tenant + " has ksm = yes");
        if (!running()) {
            log.warn("vassal {}: ksm = yes merges nothing while the host's ksmd is {} ({} = {}); set ksm-run = auto"
                    + " or on in emperor.ini, or start it yourself", tenant, state(), RUN, read());
        }
    }

    public synchronized void forget(String tenant) {
        asking.remove(tenant);
    }

    public synchronized boolean asked(String tenant) {
        return asking.contains(tenant);
    }

    /** At shutdown: the host's value as the emperor found it, unless someone changed it since. */
    public synchronized void restore() {
        if (before == null) return;
        String now = read();
        if (RUNNING.equals(now)) {
            try {
                Files.writeString(RUN, before, StandardCharsets.US_ASCII);
                log.info("put the host's ksmd back as it was: {} = {}", RUN, before);
            } catch (IOException e) {
                log.error("could not put {} back to {}: {}", RUN, before, e.getMessage());
                return; // keep the saved value: the next shutdown tries again
            }
        } else {
            log.info("leaving {} = {}: someone changed it after the emperor started ksmd", RUN, now);
        }
        before = null;
        try {
            Files.deleteIfExists(saved);
        } catch (IOException e) {
            log.warn("could not delete {}: {}", saved, e.getMessage());
        }
    }

    private void start(String why) {
        String now = read();
        if (now == null) {
            log.warn("{}, but this kernel has no KSM ({} is missing)", why, RUN);
            return;
        }
        if (RUNNING.equals(now)) return;
        try {
            if (before == null) {
                // Saved first: a crash right after the write below still knows what to restore.
                Path tmp = saved.resolveSibling(saved.getFileName() + ".tmp");
                Files.writeString(tmp, now, StandardCharsets.US_ASCII);
                Files.move(tmp, saved, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                before = now;
            }
            Files.writeString(RUN, RUNNING, StandardCharsets.US_ASCII);
            log.info("started the host's ksmd ({}: {} -> 1): {}; put back at shutdown", RUN, now, why);
        } catch (IOException e) {
            log.error("could not start the host's ksmd ({}): {}", RUN, e.getMessage());
        }
    }

    private void warnIfIdle() {
        if (!asking.isEmpty() && !running()) {
            log.warn("ksm = yes in {} merges nothing while the host's ksmd is {} ({}); set ksm-run = auto or on"
                    + " in emperor.ini", asking, state(), RUN);
        }
    }

    /** The value of /sys/kernel/mm/ksm/run, or null without KSM. */
    private static String read() {
        try {
            return Files.readString(RUN, StandardCharsets.US_ASCII).strip();
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Pages of these processes that KSM has merged, from /proc/PID/ksm_merging_pages (Linux
     * 6.1 and later); empty (unknown, not 0) when the kernel has no such file. A process that
     * exits meanwhile counts nothing.
     */
    public static OptionalLong mergingPages(Collection<Integer> pids) {
        if (!Files.exists(Path.of("/proc/self/ksm_merging_pages"))) return OptionalLong.empty();
        long total = 0;
        for (int pid : pids) {
            try {
                total += Long.parseLong(Files.readString(Path.of("/proc", Integer.toString(pid), "ksm_merging_pages"),
                        StandardCharsets.US_ASCII).strip());
            } catch (IOException | NumberFormatException e) {
                // gone since the cgroup was read
            }
        }
        return OptionalLong.of(total);
    }
}
