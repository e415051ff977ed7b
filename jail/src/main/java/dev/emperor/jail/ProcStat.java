package dev.emperor.jail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What /proc says about a host pid. A pid alone can be recycled; a pid together with its start
 * time names one process for good, which is how the emperor recognises its tenants after a
 * restart.
 */
public final class ProcStat {
    private ProcStat() {}

    /**
     * The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or
     * empty if there is no such process.
     */
    public static OptionalLong startTimeOf(int pid) {
        String stat;
        try {
            stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"), StandardCharsets.ISO_8859_1);
        } catch (NoSuchFileException e) {
            return OptionalLong.empty();
        } catch (IOException e) {
            if (!Files.exists(Path.of("/proc", Integer.toString(pid)))) return OptionalLong.empty();
            throw new JailException("read /proc/" + pid + "/stat", e.toString(), e);
        }
        return OptionalLong.of(startTimeField(stat));
    }

    /** Field 22 of a /proc/PID/stat line. */
    static long startTimeField(String stat) {
        // The command name (field 2) is in parentheses and may hold spaces and ')' itself,
        // so count fields from the last ')'.
        int close = stat.lastIndexOf(')');
        if (close < 0) throw new JailException("parse /proc stat", "no ')' in " + stat);
        String[] rest = stat.substring(close + 1).trim().split(" +");
        // rest[0] is field 3 (state), so field 22 is rest[19]
        if (rest.length < 20) throw new JailException("parse /proc stat", "too few fields in " + stat);
        return Long.parseLong(rest[19]);
    }

    /** The process's argv from /proc/PID/cmdline, or empty if there is no such process. */
    public static Optional<List<String>> commandLineOf(int pid) {
        byte[] raw;
        try {
            raw = Files.readAllBytes(Path.of("/proc", Integer.toString(pid), "cmdline"));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            if (!Files.exists(Path.of("/proc", Integer.toString(pid)))) return Optional.empty();
            throw new JailException("read /proc/" + pid + "/cmdline", e.toString(), e);
        }
        String all = new String(raw, StandardCharsets.UTF_8);
        if (all.endsWith("\0")) all = all.substring(0, all.length() - 1);
        return Optional.of(all.isEmpty() ? List.of() : Arrays.asList(all.split("\0", -1)));
    }
}
