package dev.emperor.supervisor.logs;

import dev.emperor.jail.Jail;
import dev.emperor.jail.JailException;
import dev.emperor.jail.TenantProcess;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tenants' own logs: {@code LOG_DIR/NAME.log} holds everything a vassal writes to stdout and
 * stderr, plus the emperor's notes about it; {@code NAME.log.1 .. NAME.log.KEEP} are older
 * parts, {@code .1} the newest. The format is {@link LogLineFormat}'s.
 *
 * <p>A tenant never holds a descriptor of its log file. Its processes write into a pipe
 * ({@link #newPipe}); the emperor reads every pipe on one thread ({@link LogPump}) and writes
 * each tenant's files itself ({@link LogFile}): bounded in size (rotation by rename), in rate
 * ({@code log-rate}, lines over it dropped and counted), and with no lock that two tenants
 * share. The tenant's pid 1 keeps both ends of its pipe, so the pipe outlives an emperor
 * restart; the next emperor takes them back ({@link #adoptPipe}).
 *
 * <p>The directory is root's (0750) and so are the files (0640): tenants read their log
 * through the emperor.
 */
public final class TenantLogs implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TenantLogs.class);

    /** tail reads at most this much of the end of a log, however long its lines. */
    static final int MAX_TAIL_BYTES = 8 * 1024 * 1024;

    /** follow hands out a line without newline once it gets this long. */
    static final int MAX_LINE_BYTES = 64 * 1024;

    /** How often follow looks for new output. */
    private static final long FOLLOW_POLL_MILLIS = 200;

    private final Path dir;
    private volatile Supplier<LogLimits> limits = () -> new LogLimits(10L << 20, 5, 1L << 20);
    private final Map<String, LogFile> files = new ConcurrentHashMap<>();
    /** Each tenant's current pipe (a respawn gets a new one; the old one drains on its own). */
    private final Map<String, TenantLogStream> streams = new ConcurrentHashMap<>();
    private LogPump pump;

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

    /** Where the bounds come from (emperor.ini's log-max-size, log-keep, log-rate); read at every line. */
    public void useLimits(Supplier<LogLimits> limits) {
        this.limits = limits;
    }

    /** The vassal's current log file. */
    public Path logFile(String name) {
        checkName(name);
        return dir.resolve(name + ".log");
    }

    private static void checkName(String name) {
        // Names are validated with the vassal file; this only keeps a bad one inside the dir.
        if (name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0 || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("not a vassal name: '" + name + "'");
        }
    }

    private LogFile file(String name) {
        checkName(name);
        return files.computeIfAbsent(name, n -> new LogFile(dir, n));
    }

    /** The fds of a tenant's new log pipe: both ends stay the emperor's (closed by {@link #detach}). */
    public record PipeEnds(int readFd, int writeFd) {}

    /**
     * A new log pipe for the tenant, read from now on: give {@code writeFd} to the payload as
     * stdout and stderr and {@code readFd} to its pid 1 to keep (the jail's
     * {@code Stdio.logReadEnd}). The tenant's previous pipe, if any, is detached.
     */
    public PipeEnds newPipe(String name) throws IOException {
        return start(name, LogPipe.create(name));
    }

    /**
     * After an emperor restart: takes back the ends of the log pipe that the tenant's pid 1
     * kept, and reads it again. Lines written meanwhile waited in the pipe.
     */
    public void adoptPipe(String name, TenantProcess init) throws IOException {
        int readFd = -1;
        int writeFd = -1;
        try {
            readFd = init.copyFd(Jail.INIT_LOG_READ_FD);
            writeFd = init.copyFd(1);
        } catch (JailException e) {
            LogSys.closeQuietly(readFd);
            LogSys.closeQuietly(writeFd);
            throw new IOException("cannot take back its log pipe: " + e.getMessage(), e);
        }
        start(name, LogPipe.adopt(name, readFd, writeFd));
    }

    private synchronized PipeEnds start(String name, LogPipe pipe) throws IOException {
        if (pump == null) pump = new LogPump();
        TenantLogStream stream = new TenantLogStream(name, pipe, file(name), limits, System.nanoTime());
        TenantLogStream previous = streams.put(name, stream);
        if (previous != null) previous.pipe().closeWriteEnd();
        pump.add(stream);
        return new PipeEnds(pipe.readFd(), pipe.writeFd());
    }

    /**
     * Runs {@code enter} with the write end of the tenant's log pipe (-1 if it has none), held
     * so that {@link #detach} cannot close it meanwhile: for commands entered into the running
     * tenant (cron jobs, daemons), whose output goes to the log like the payload's.
     */
    public <T> T withWriteFd(String name, IntFunction<T> enter) {
        TenantLogStream stream = streams.get(name);
        if (stream == null) return enter.apply(-1);
        LogPipe pipe = stream.pipe();
        synchronized (pipe) {
            return enter.apply(pipe.writeFd());
        }
    }

    /**
     * The tenant's processes are gone: the emperor lets go of its write end, and the pump
     * writes what is left in the pipe, then closes it.
     */
    public void detach(String name) {
        TenantLogStream stream = streams.remove(name);
        if (stream != null) stream.pipe().closeWriteEnd();
        // Only running tenants keep a log file open; a later note or line opens it again.
        LogFile file = files.get(name);
        if (file != null) {
            try {
                // A reload then writes the next payload's lines to the same file if the
                // directory turned read-only: they would be dropped otherwise.
                file.closeIfReopenable();
            } catch (IOException e) {
                log.warn("vassal {}: closing its log: {}", name, e.toString());
            }
        }
    }

    /** A purged tenant's log files go (a later tenant of the name starts an empty log). */
    public void delete(String name) throws IOException {
        checkName(name);
        detach(name);
        files.remove(name);
        try (var logs = Files.newDirectoryStream(dir, name + ".log*")) {
            for (Path file : logs) {
                String rest = file.getFileName().toString().substring(name.length() + 4);
                if (rest.isEmpty() || rest.matches("\\.\\d+")) Files.deleteIfExists(file);
            }
        }
    }

    /** Why the vassal's log cannot be written now, or null (for status). */
    public String problem(String name) {
        LogFile file = files.get(name);
        return file == null ? null : file.problem();
    }

    /** Lines of the vassal dropped because its log could not be written, since the emperor started. */
    public long droppedLines(String name) {
        LogFile file = files.get(name);
        return file == null ? 0 : file.droppedLines();
    }

    /**
     * Writes one line of the emperor's own into the vassal's log:
     * {@code [emperor 2025-06-01T10:00:00Z] spawned pid 123}. Line breaks in {@code note} become
     * spaces, so a note is always one line.
     */
    public void append(String name, String note) throws IOException {
        LogLimits current = limits.get();
        byte[] line = LogLineFormat.note(note, current.lineCap());
        LogFile file = file(name);
        synchronized (file) {
            file.add(line, 0, line.length, current);
            file.flush();
        }
    }

    /**
     * Stops reading the pipes (what is in them is written first) and closes the files; the
     * tenants' pid 1s keep their pipes for the next emperor.
     */
    @Override
    public synchronized void close() {
        if (pump != null) pump.close();
        pump = null;
        streams.clear();
        for (LogFile file : files.values()) {
            try {
                file.close();
            } catch (IOException e) {
                log.warn("closing a log: {}", e.toString());
            }
        }
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
     * When the log is rotated (renamed away, a new NAME.log started), the rest of the old file
     * is read first, then the new one from its top. A log that does not exist yet is waited for.
     */
    public void follow(String name, int backlogLines, Consumer<String> out, BooleanSupplier stop)
            throws IOException, InterruptedException {
        Path log = logFile(name);
        LineSplitter splitter = new LineSplitter();
        FileChannel channel = null;
        Object fileKey = null;
        long position = 0;
        try {
            try {
                channel = FileChannel.open(log, StandardOpenOption.READ);
                fileKey = fileKey(log);
                position = startOfLastLines(channel, channel.size(), backlogLines);
            } catch (NoSuchFileException e) {
                // nothing written yet: start at the top once it appears
            }
            while (!stop.getAsBoolean()) {
                boolean grew = false;
                if (channel != null && channel.size() > position) {
                    position = readRange(channel, position, channel.size(), splitter, out);
                    grew = true;
                }
                Object current = fileKey(log);
                if (current != null && !current.equals(fileKey)) {
                    if (channel != null) {
                        // rotated: what was written to the old file before the rename comes first
                        position = readRange(channel, position, channel.size(), splitter, out);
                        splitter.flush(out);
                        channel.close();
                        channel = null;
                    }
                    try {
                        channel = FileChannel.open(log, StandardOpenOption.READ);
                        fileKey = current;
                        position = 0;
                        grew = true;
                    } catch (NoSuchFileException e) {
                        fileKey = null;
                    }
                } else if (channel != null && channel.size() < position) {
                    position = 0; // truncated in place by someone else
                }
                if (!grew) {
                    Thread.sleep(FOLLOW_POLL_MILLIS);
                }
            }
        } finally {
            if (channel != null) channel.close();
        }
    }

    private static Object fileKey(Path file) {
        try {
            return Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        } catch (IOException e) {
            return null;
        }
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
