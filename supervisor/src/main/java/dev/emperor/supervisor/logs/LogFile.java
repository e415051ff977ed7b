package dev.emperor.supervisor.logs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * One tenant's log files, written only by the emperor: {@code NAME.log}, and the older parts
 * {@code NAME.log.1 .. NAME.log.KEEP} ({@code .1} the newest).
 *
 * <p>Bounded at all times: a line that would take NAME.log past {@code maxSize} first rotates
 * it, by renames only (nothing is ever copied), and no line is longer than
 * {@link LogLimits#lineCap()}, so no file ever exceeds {@code maxSize} and the tenant's files
 * together never exceed {@code maxSize × (keep + 1)}.
 *
 * <p>Thread-safe through its own monitor only: the pump writes the tenant's lines, the
 * tenant's lifecycle its notes; no other tenant ever waits on this lock.
 */
final class LogFile implements AutoCloseable {
    private static final Set<StandardOpenOption> APPEND =
            Set.of(StandardOpenOption.WRITE, StandardOpenOption.APPEND, StandardOpenOption.CREATE);

    /** How often a log that cannot be opened or written is tried again (not at every line). */
    private static final long RETRY_NANOS = 1_000_000_000L;

    private final Path dir;
    private final String name;
    /** Whole lines waiting for one write(). */
    private final ByteBuffer staged = ByteBuffer.allocate(64 * 1024);
    private FileChannel channel;
    private long size;
    /** Lines in {@link #staged}, counted as dropped if their write fails. */
    private int stagedLines;
    /**
     * Why lines cannot be written now (read-only, full or missing directory), or null. While set,
     * lines are dropped and counted, never thrown back at the tenant's pump or lifecycle: a log
     * that cannot be written is never a reason to stop a tenant.
     */
    private volatile String problem;
    private long notBefore;
    /** Lines dropped since the problem began (reported in a note once the log is written again). */
    private long droppedSinceProblem;
    /** Lines dropped because the log could not be written, since the emperor started (status). */
    private volatile long droppedTotal;

    LogFile(Path dir, String name) {
        this.dir = dir;
        this.name = name;
    }

    Path current() {
        return dir.resolve(name + ".log");
    }

    private Path part(int generation) {
        return dir.resolve(name + ".log." + generation);
    }

    /**
     * Adds one line ({@code length} bytes of {@code line}, its newline included, at most
     * {@link LogLimits#lineCap()}) after the ones before; it reaches the file at the latest
     * with {@link #flush()}.
     */
    synchronized void add(byte[] line, int offset, int length, LogLimits limits) throws IOException {
        if (length > limits.lineCap()) throw new IllegalArgumentException("line of " + length + " bytes");
        if (!writable(limits)) {
            dropped(1);
            return;
        }
        if (size + staged.position() + length > limits.maxSize()) {
            flush();
            if (channel == null) { // the flush failed
                dropped(1);
                return;
            }
            if (size > 0 && !rotated(limits.keep())) {
                dropped(1);
                return;
            }
        }
        if (staged.remaining() < length) flush();
        staged.put(line, offset, length);
        stagedLines++;
    }

    /** Writes the staged lines; if they cannot be written they are dropped and counted. */
    synchronized void flush() throws IOException {
        if (staged.position() == 0) return;
        staged.flip();
        try {
            while (staged.hasRemaining()) size += channel.write(staged);
        } catch (IOException e) {
            failed(e);
            dropped(stagedLines);
        } finally {
            staged.clear();
            stagedLines = 0;
        }
    }

    /**
     * Whether lines can go to the file now: an open file is kept (a directory turned read-only
     * still lets it be written); else it is opened, at most once a second while that fails. On
     * the first success after a failure, a note says how many lines were lost and why.
     */
    private boolean writable(LogLimits limits) throws IOException {
        if (channel != null) return true;
        long now = System.nanoTime();
        if (problem != null && now - notBefore < 0) return false;
        try {
            open();
        } catch (IOException e) {
            failed(e);
            return false;
        }
        if (problem != null) {
            String was = problem;
            long lost = droppedSinceProblem;
            problem = null;
            droppedSinceProblem = 0;
            byte[] note = LogLineFormat.note(lost + " lines dropped while the log could not be written (" + was + ")",
                    limits.lineCap());
            staged.put(note, 0, Math.min(note.length, staged.remaining()));
            stagedLines++;
        }
        return true;
    }

    private void failed(IOException e) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // it is being given up anyway
            }
            channel = null;
        }
        problem = describe(dir, e);
        notBefore = System.nanoTime() + RETRY_NANOS;
    }

    private void dropped(int lines) {
        droppedSinceProblem += lines;
        droppedTotal += lines;
    }

    /** "log directory read-only (DIR): ..." and the like: what the operator has to fix, and where. */
    static String describe(Path dir, IOException e) {
        String message = String.valueOf(e.getMessage());
        String what = message.contains("Read-only file system") ? "log directory read-only"
                : message.contains("No space left") ? "log directory full"
                : e instanceof java.nio.file.AccessDeniedException ? "log directory not writable"
                : e instanceof NoSuchFileException ? "log directory missing"
                : "log cannot be written";
        return what + " (" + dir + "): " + message;
    }

    /** Why the log cannot be written now, or null (status). */
    String problem() {
        return problem;
    }

    /** Lines dropped because the log could not be written, since the emperor started (status). */
    long droppedLines() {
        return droppedTotal;
    }

    /** Closes the file unless it could not be opened again (its directory turned read-only, say). */
    synchronized void closeIfReopenable() throws IOException {
        if (channel != null && !Files.isWritable(dir)) {
            flush();
            return; // keep writing to the open file: a new open would fail
        }
        close();
    }

    private void open() throws IOException {
        if (channel != null) return;
        channel = FileChannel.open(current(), APPEND, PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rw-r-----")));
        size = channel.size();
    }

    /** {@link #rotate}; false (lines to be dropped, the problem recorded) if it failed. */
    private boolean rotated(int keep) {
        try {
            rotate(keep);
            return true;
        } catch (IOException e) {
            failed(e);
            return false;
        }
    }

    /** NAME.log.K becomes NAME.log.K+1 (KEEP is dropped), NAME.log becomes NAME.log.1, a new NAME.log starts. */
    private void rotate(int keep) throws IOException {
        channel.close();
        channel = null;
        if (keep == 0) {
            Files.deleteIfExists(current());
        } else {
            Files.deleteIfExists(part(keep));
            for (int generation = keep - 1; generation >= 1; generation--) {
                try {
                    Files.move(part(generation), part(generation + 1), StandardCopyOption.ATOMIC_MOVE);
                } catch (NoSuchFileException e) {
                    // fewer parts so far
                }
            }
            Files.move(current(), part(1), StandardCopyOption.ATOMIC_MOVE);
        }
        open();
    }

    @Override
    public synchronized void close() throws IOException {
        try {
            if (channel != null) flush();
        } finally {
            if (channel != null) channel.close();
            channel = null;
        }
    }
}
