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

    private final Path dir;
    private final String name;
    /** Whole lines waiting for one write(). */
    private final ByteBuffer staged = ByteBuffer.allocate(64 * 1024);
    private FileChannel channel;
    private long size;

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
        open();
        if (size + staged.position() + length > limits.maxSize()) {
            flush();
            if (size > 0) rotate(limits.keep());
        }
        if (staged.remaining() < length) flush();
        staged.put(line, offset, length);
    }

    /** Writes the staged lines. */
    synchronized void flush() throws IOException {
        if (staged.position() == 0) return;
        staged.flip();
        try {
            while (staged.hasRemaining()) size += channel.write(staged);
        } finally {
            staged.clear();
        }
    }

    private void open() throws IOException {
        if (channel != null) return;
        channel = FileChannel.open(current(), APPEND, PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rw-r-----")));
        size = channel.size();
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
