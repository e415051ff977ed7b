package dev.emperor.supervisor.logs;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The tenants' own logs: {@code LOG_DIR/NAME.log} holds everything a vassal writes to stdout and
 * stderr, plus the emperor's notes about it; {@code NAME.log.1 .. NAME.log.KEEP} are older
 * parts, {@code .1} the newest.
 *
 * <p>The directory is root's (0750) and so are the files (0640): tenants write through the fd
 * they were given, and read their log through the emperor.
 */
public final class TenantLogs {

    /** tail reads at most this much of the end of a log, however long its lines. */
    static final int MAX_TAIL_BYTES = 8 * 1024 * 1024;

    /** follow hands out a line without newline once it gets this long. */
    static final int MAX_LINE_BYTES = 64 * 1024;

    /** How often follow looks for new output. */
    private static final long FOLLOW_POLL_MILLIS = 200;

    private final Path dir;

    private TenantLogs(Path dir) {
        this.dir = dir;
    }

    /** Uses (creating if needed) {@code logDir}. */
    public static TenantLogs open(Path logDir) throws IOException {
        if (!Files.isDirectory(logDir)) {
            Files.createDirectories(logDir);
            Files.setPosixFilePermissions(logDir, PosixFilePermissions.fromString("rwxr-x---"));
        }
        return new TenantLogs(logDir);
    }

    /** The vassal's current log file. */
    public Path logFile(String name) {
        // Names are validated with the vassal file; this only keeps a bad one inside the dir.
        if (name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0 || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("not a vassal name: '" + name + "'");
        }
        return dir.resolve(name + ".log");
    }

    private Path rotatedFile(String name, int generation) {
        return dir.resolve(name + ".log." + generation);
    }

    /** Opens the vassal's log for the tenant to write (see {@link LogFd}); the caller closes it. */
    public LogFd openAppendFd(String name) throws IOException {
        return LogFd.openAppend(logFile(name));
    }

    /**
     * Writes one line of the emperor's own into the vassal's log:
     * {@code [emperor 2025-06-01T10:00:00Z] spawned pid 123}. Line breaks in {@code note} become
     * spaces, so a note is always one line.
     */
    public synchronized void append(String name, String note) throws IOException {
        String line = "[emperor " + Instant.now().truncatedTo(ChronoUnit.SECONDS) + "] "
                + note.replace('\n', ' ').replace('\r', ' ') + "\n";
        try (FileChannel log = FileChannel.open(logFile(name),
                Set.of(StandardOpenOption.WRITE, StandardOpenOption.APPEND, StandardOpenOption.CREATE),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r-----")))) {
            // One write with O_APPEND: it cannot land in the middle of a tenant's line.
            ByteBuffer bytes = ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8));
            while (bytes.hasRemaining()) {
                log.write(bytes);
            }
        }
    }

    /**
     * Rotates the vassal's log once it reaches {@code maxBytes}: NAME.log.K becomes NAME.log.K+1
     * (the oldest, NAME.log.KEEP, is dropped), the current content is copied to NAME.log.1 and
     * NAME.log is truncated in place. The tenant keeps writing to the same file through its
     * O_APPEND fd, which is why the file is copied and truncated rather than renamed.
     *
     * @param keep how many old parts to keep; 0 only truncates
     * @return whether the log was rotated
     */
    public synchronized boolean rotateIfNeeded(String name, long maxBytes, int keep) throws IOException {
        if (maxBytes <= 0 || keep < 0) {
            throw new IllegalArgumentException("bad rotation: maxBytes " + maxBytes + ", keep " + keep);
        }
        Path log = logFile(name);
        long size;
        try {
            size = Files.size(log);
        } catch (NoSuchFileException e) {
            return false;
        }
        if (size < maxBytes) {
            return false;
        }
        if (keep > 0) {
            Files.deleteIfExists(rotatedFile(name, keep));
            for (int generation = keep - 1; generation >= 1; generation--) {
                Path older = rotatedFile(name, generation);
                if (Files.exists(older)) {
                    Files.move(older, rotatedFile(name, generation + 1), StandardCopyOption.ATOMIC_MOVE);
                }
            }
            Path first = rotatedFile(name, 1);
            Files.copy(log, first);
            Files.setPosixFilePermissions(first, PosixFilePermissions.fromString("rw-r-----"));
        }
        // Lines the tenant writes after the copy has read the end of the file and before this
        // truncate are lost: a window of microseconds, the price of never touching the
        // tenant's fd. The next write lands at offset 0 thanks to O_APPEND.
        try (FileChannel truncate = FileChannel.open(log, StandardOpenOption.WRITE)) {
            truncate.truncate(0);
        }
        return true;
    }

    /** The last {@code lines} lines of the vassal's current log (none if it has no log yet). */
    public List<String> tail(String name, int lines) throws IOException {
        try (FileChannel log = FileChannel.open(logFile(name), StandardOpenOption.READ)) {
            long size = log.size();
            long start = startOfLastLines(log, size, lines);
            LineSplitter splitter = new LineSplitter();
            List<String> out = new ArrayList<>();
            readRange(log, start, size, splitter, out::add);
            splitter.flush(out::add);
            return out;
        } catch (NoSuchFileException e) {
            return List.of();
        }
    }

    /**
     * Hands {@code out} the last {@code backlogLines} lines of the vassal's log, then every new
     * line as the vassal writes it, until {@code stop} says so ({@code emperor logs NAME -f}).
     * When the log was truncated by rotation it starts again from the top of the file. A log
     * that does not exist yet is waited for.
     */
    public void follow(String name, int backlogLines, Consumer<String> out, BooleanSupplier stop)
            throws IOException, InterruptedException {
        Path log = logFile(name);
        LineSplitter splitter = new LineSplitter();
        long position = 0;
        byte[] seen = new byte[0]; // the last bytes read, to recognise the same file later
        try (FileChannel channel = FileChannel.open(log, StandardOpenOption.READ)) {
            position = startOfLastLines(channel, channel.size(), backlogLines);
            seen = bytesBefore(channel, position);
        } catch (NoSuchFileException e) {
            // nothing written yet: start at the top once it appears
        }
        while (!stop.getAsBoolean()) {
            boolean grew = false;
            try (FileChannel channel = FileChannel.open(log, StandardOpenOption.READ)) {
                long size = channel.size();
                // Truncated: shorter than what we read, or (truncated and already written past
                // our position) the bytes we read last are no longer there.
                if (size < position || !Arrays.equals(seen, bytesBefore(channel, position))) {
                    splitter.flush(out); // the rest of that line went with the old part
                    position = 0;
                    seen = new byte[0];
                }
                if (size > position) {
                    position = readRange(channel, position, size, splitter, out);
                    seen = bytesBefore(channel, position);
                    grew = true;
                }
            } catch (NoSuchFileException e) {
                position = 0;
                seen = new byte[0];
            }
            if (!grew) {
                Thread.sleep(FOLLOW_POLL_MILLIS);
            }
        }
    }

    /** Up to 64 bytes just before {@code position} (fewer if the file is shorter now). */
    private static byte[] bytesBefore(FileChannel file, long position) throws IOException {
        long from = Math.max(0, position - 64);
        ByteBuffer bytes = ByteBuffer.allocate((int) (position - from));
        while (bytes.hasRemaining() && file.read(bytes, from + bytes.position()) > 0) {
            // keep reading
        }
        return Arrays.copyOf(bytes.array(), bytes.position());
    }

    /** Where the last {@code lines} lines of the file begin (a final newline ends, not starts, a line). */
    private static long startOfLastLines(FileChannel file, long size, int lines) throws IOException {
        if (lines <= 0) {
            return size;
        }
        long floor = Math.max(0, size - MAX_TAIL_BYTES);
        ByteBuffer block = ByteBuffer.allocate(8192);
        long end = size;
        int newlines = 0;
        while (end > floor) {
            int length = (int) Math.min(block.capacity(), end - floor);
            long blockStart = end - length;
            block.clear().limit(length);
            while (block.hasRemaining()) {
                if (file.read(block, blockStart + block.position()) < 0) {
                    return blockStart + block.position(); // file shrank under us
                }
            }
            for (int i = length - 1; i >= 0; i--) {
                long offset = blockStart + i;
                if (block.get(i) == '\n' && offset != size - 1 && ++newlines == lines) {
                    return offset + 1;
                }
            }
            end = blockStart;
        }
        return floor;
    }

    /** Feeds bytes [from, to) of the file to the splitter; returns where it stopped. */
    private static long readRange(FileChannel file, long from, long to, LineSplitter splitter, Consumer<String> out)
            throws IOException {
        ByteBuffer block = ByteBuffer.allocate(8192);
        long position = from;
        while (position < to) {
            block.clear().limit((int) Math.min(block.capacity(), to - position));
            int n = file.read(block, position);
            if (n < 0) {
                break;
            }
            position += n;
            splitter.accept(block.array(), n, out);
        }
        return position;
    }

    /** Turns a byte stream into lines; keeps an unfinished last line until its newline comes. */
    private static final class LineSplitter {
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

        void accept(byte[] bytes, int length, Consumer<String> out) {
            for (int i = 0; i < length; i++) {
                if (bytes[i] == '\n') {
                    emit(out);
                } else {
                    pending.write(bytes[i]);
                    if (pending.size() >= MAX_LINE_BYTES) {
                        emit(out);
                    }
                }
            }
        }

        void flush(Consumer<String> out) {
            if (pending.size() > 0) {
                emit(out);
            }
        }

        private void emit(Consumer<String> out) {
            out.accept(pending.toString(StandardCharsets.UTF_8));
            pending.reset();
        }
    }
}
