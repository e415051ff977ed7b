package dev.emperor.jail.cgroup;

import dev.emperor.jail.JailException;
import dev.emperor.jail.Limits;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * Reading and writing cgroupfs files, the same on v1 and v2, with errors that name the file.
 * Also the two bounded waits both versions share: killing a cgroup empty and removing it.
 */
final class CgroupFiles {
    /** How long remove() keeps trying before it gives up and reports. */
    static final long GIVE_UP_NANOS = TimeUnit.SECONDS.toNanos(2);
    /**
     * How long killAll() waits for killed processes to leave: longer, because on a busy host
     * a killed process (or pid 1, until the emperor has reaped it) can take seconds to go.
     */
    static final long KILL_GIVE_UP_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final long RETRY_MILLIS = 10;

    /**
     * Tenant and subtree names become one path component. The pattern rules out "/", "."
     * and "..", so no name reaches outside Emperor's subtree. A name equal to a control file
     * (e.g. "memory.max") makes mkdir fail, and that failure is reported.
     */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");

    private CgroupFiles() {}

    static String checkName(String what, String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("invalid cgroup " + what + " name: " + name
                    + " (letters, digits, '.', '_', '-'; starting with a letter or digit)");
        }
        return name;
    }

    static void checkLimits(Limits limits) {
        if (limits.memoryBytes() < 0 || limits.cpuPercent() < 0 || limits.pids() < 0) {
            throw new IllegalArgumentException("negative limit: " + limits);
        }
    }

    /**
     * Writes value with one write(2). No O_CREAT: a control file that does not exist means
     * the controller is missing, and that must be an error, not a new regular file.
     */
    static void write(Path file, String value) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            channel.write(ByteBuffer.wrap(value.getBytes(StandardCharsets.US_ASCII)));
        } catch (IOException e) {
            throw new JailException("cgroup " + file, value + ": " + reason(e), e);
        }
    }

    static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new JailException("cgroup " + file, "read: " + reason(e), e);
        }
    }

    static long readLong(Path file) {
        String text = read(file).strip();
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new JailException("cgroup " + file, "not a number: " + text, e);
        }
    }

    /** The value of "key N" in a flat keyed file (memory.events, cpu.stat...), 0 if absent. */
    static long keyedValue(Path file, String key) {
        for (String line : read(file).split("\n")) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length == 2 && fields[0].equals(key)) {
                try {
                    return Long.parseLong(fields[1]);
                } catch (NumberFormatException e) {
                    throw new JailException("cgroup " + file, "not a number: " + line, e);
                }
            }
        }
        return 0;
    }

    /** The space-separated words of a file such as cgroup.controllers. */
    static Set<String> words(Path file) {
        Set<String> words = new TreeSet<>();
        for (String word : read(file).trim().split("\\s+")) {
            if (!word.isEmpty()) {
                words.add(word);
            }
        }
        return words;
    }

    /** The pids listed in a cgroup.procs file; none if the cgroup is gone. */
    static Set<Integer> pids(Path procsFile) {
        Set<Integer> pids = new TreeSet<>();
        if (!Files.exists(procsFile)) {
            return pids;
        }
        for (String line : read(procsFile).split("\n")) {
            if (!line.isBlank()) {
                pids.add(Integer.parseInt(line.strip()));
            }
        }
        return pids;
    }

    /** mkdir; true if this call created it, false if it was already there. */
    static boolean mkdir(Path dir) {
        try {
            Files.createDirectory(dir);
            return true;
        } catch (FileAlreadyExistsException e) {
            return false;
        } catch (IOException e) {
            throw new JailException("cgroup mkdir " + dir, reason(e), e);
        }
    }

    /**
     * Kills until members() is empty: a process may fork between reading the list and the
     * signal, so one pass is not enough. Gives up after KILL_GIVE_UP_NANOS naming what is left.
     */
    static void killUntilEmpty(String tenant, Supplier<Set<Integer>> members,
            Consumer<Set<Integer>> kill) {
        long start = System.nanoTime();
        Set<Integer> left = members.get();
        while (!left.isEmpty()) {
            if (System.nanoTime() - start > KILL_GIVE_UP_NANOS) {
                throw new JailException("kill cgroup of tenant " + tenant,
                        "processes still there after " + TimeUnit.NANOSECONDS.toSeconds(KILL_GIVE_UP_NANOS) + " s: " + left);
            }
            kill.accept(left);
            pause();
            left = members.get();
        }
    }

    /**
     * Waits (bounded, GIVE_UP_NANOS) until a v1 freezer.state reads FROZEN. A cgroup that
     * stays FREEZING (a task stuck in the kernel) is killed anyway: the caller goes on, and
     * its kill loop catches what the frozen pass missed.
     */
    static void awaitFrozen(Path state) {
        long start = System.nanoTime();
        while (!read(state).strip().equals("FROZEN") && System.nanoTime() - start < GIVE_UP_NANOS) {
            pause();
        }
    }

    /** A failed create leaves nothing half made behind: what it created goes, newest first. */
    static void undoCreate(List<Path> made) {
        for (Path dir : made.reversed()) {
            CgroupSyscalls.rmdir(dir);
        }
    }

    /**
     * rmdir of a tenant's cgroup directories. Already gone is fine; EBUSY (a process still
     * exiting) is retried for GIVE_UP_NANOS in all, then reported naming what is left.
     */
    static void removeDirs(List<Path> dirs) {
        long start = System.nanoTime();
        List<Path> busy = new ArrayList<>(dirs);
        while (true) {
            for (Iterator<Path> it = busy.iterator(); it.hasNext(); ) {
                Path dir = it.next();
                removeChildren(dir);
                int errno = CgroupSyscalls.rmdir(dir);
                if (errno == 0 || errno == CgroupSyscalls.ENOENT) {
                    it.remove();
                } else if (errno != CgroupSyscalls.EBUSY) {
                    throw new JailException("cgroup rmdir " + dir, CgroupSyscalls.strerror(errno));
                }
            }
            if (busy.isEmpty()) {
                return;
            }
            if (System.nanoTime() - start > GIVE_UP_NANOS) {
                throw new JailException("cgroup rmdir " + busy.get(0),
                        CgroupSyscalls.strerror(CgroupSyscalls.EBUSY)
                        + " (processes or child cgroups left after 2 s)"
                        + (busy.size() > 1 ? "; also " + busy.subList(1, busy.size()) : ""));
            }
            pause();
        }
    }

    /**
     * rmdir of Emperor's subtree directory once its last tenant is gone. The kernel refuses
     * (EBUSY) while any tenant cgroup is still inside, which is exactly the rule we want;
     * a plain directory (tests) says ENOTEMPTY. Either way the subtree stays.
     */
    /**
     * Child cgroups of dir: session cgroups an emperor that died mid-session left behind.
     * Their processes were in the tenant's pid namespace and died with it; rmdir of an empty
     * cgroup directory is all they need (one still busy is retried with its parent).
     */
    private static void removeChildren(Path dir) {
        try (var children = Files.newDirectoryStream(dir, Files::isDirectory)) {
            for (Path child : children) CgroupSyscalls.rmdir(child);
        } catch (IOException e) {
            // gone already, or unreadable: the parent's rmdir reports what matters
        }
    }

    static void removeSubtreeIfUnused(Path subtreeDir) {
        int errno = CgroupSyscalls.rmdir(subtreeDir);
        if (errno != 0 && errno != CgroupSyscalls.ENOENT && errno != CgroupSyscalls.EBUSY
                && errno != CgroupSyscalls.ENOTEMPTY) {
            throw new JailException("cgroup rmdir " + subtreeDir, CgroupSyscalls.strerror(errno));
        }
    }

    private static void pause() {
        try {
            Thread.sleep(RETRY_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JailException("cgroup", "interrupted while waiting", e);
        }
    }

    private static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "No such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "Permission denied";
        }
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        return e.getMessage();
    }

    /** The names of the directories directly below each of dirs (missing dirs have none). */
    static java.util.SortedSet<String> childNames(List<Path> dirs) {
        java.util.SortedSet<String> names = new java.util.TreeSet<>();
        for (Path dir : dirs) {
            try (var children = Files.newDirectoryStream(dir, Files::isDirectory)) {
                for (Path child : children) names.add(child.getFileName().toString());
            } catch (java.nio.file.NoSuchFileException e) {
                // no subtree in this hierarchy yet
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("cannot list " + dir, e);
            }
        }
        return names;
    }
}
