package dev.emperor.proxy.http;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocal;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.StandardCopyOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-tenant access logs ({@code DIR/TENANT.access.log}). Like nginx's {@code access_log ...
 * buffer= flush=}: an event loop gathers its lines per tenant in memory and hands them to the
 * writer thread in one piece every {@link #HANDOFF_MILLIS} ms (or at 64 KiB), so a request
 * costs no lock and no wake-up, and a slow disk never stalls traffic. When the writer falls
 * too far behind, pieces are dropped and their lines counted rather than blocking.
 *
 * <p>The writer thread is the only one that writes the files, so it also rotates them, as the
 * emperor does the tenants' own logs: past {@link Settings#maxBytes} a log becomes
 * {@code TENANT.access.log.1} (older parts move up, the oldest beyond {@link Settings#keep} is
 * dropped) and the next line starts a new file. Where and when can change while running
 * ({@link #use}); lines handed over before the change may still land in the old place.
 */
public final class AccessLog implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AccessLog.class);

    /** How long a line may wait on its event loop before it goes to the writer. */
    static final long HANDOFF_MILLIS = 20;
    private static final int PIECE_LIMIT = 64 * 1024;

    /** Lines of one tenant, whole, ready for its file. */
    private record Piece(String tenant, byte[] bytes) {
    }

    private static final Piece STOP = new Piece("", new byte[0]);

    /**
     * Where the logs go and when they are rotated.
     *
     * @param maxBytes a log is rotated once it reaches this size ({@link Long#MAX_VALUE}: never)
     * @param keep     rotated parts kept per tenant (0: a full log is just started afresh)
     */
    public record Settings(Path directory, long maxBytes, int keep) {
        public Settings {
            if (maxBytes <= 0 || keep < 0) {
                throw new IllegalArgumentException("bad access log rotation: maxBytes " + maxBytes + ", keep " + keep);
            }
        }

        /** Never rotated: for a proxy that runs without an emperor (tests, benchmarks). */
        public static Settings unrotated(Path directory) {
            return new Settings(directory, Long.MAX_VALUE, 0);
        }
    }

    /** An open log and how long it is. */
    private static final class OpenLog {
        final OutputStream out;
        long size;

        OpenLog(OutputStream out, long size) {
            this.out = out;
            this.size = size;
        }
    }

    /** What {@link #use} asked for last; the writer applies it before its next batch. */
    private volatile Settings wanted;
    /** The writer thread's current settings. */
    private Settings applied;
    private final BlockingQueue<Piece> queue = new ArrayBlockingQueue<>(1024);
    private final AtomicLong dropped = new AtomicLong();
    /** The writer thread's open files. */
    private final Map<String, OpenLog> files = new HashMap<>();
    private final Thread writer;
    /** Each event loop's gathered lines, and all of them (to hand over what is left at close). */
    private final FastThreadLocal<Gathered> gathered = new FastThreadLocal<>();
    private final Set<Gathered> everyLoop = ConcurrentHashMap.newKeySet();

    public AccessLog(Path directory) {
        this(Settings.unrotated(directory));
    }

    public AccessLog(Settings settings) {
        this.wanted = settings;
        this.applied = settings;
        this.writer = Thread.ofPlatform().name("emperor-access-log").daemon().unstarted(this::run);
        writer.start();
    }

    /**
     * Adds one line (without its newline) to {@code tenant}'s log; called on {@code loop},
     * the event loop this thread runs. Never blocks.
     */
    void log(EventExecutor loop, String tenant, byte[] line, int length) {
        Gathered mine = gathered.getIfExists();
        if (mine == null) {
            mine = new Gathered(loop);
            gathered.set(mine);
            everyLoop.add(mine);
        }
        mine.add(tenant, line, length);
    }

    /** From the writer's next batch on: another directory (files open in the old one are closed), other rotation. */
    public void use(Settings settings) {
        wanted = settings;
    }

    /** Lines lost to a writer that could not keep up, since start. */
    public long dropped() {
        return dropped.get();
    }

    /** One event loop's lines, per tenant; touched only on that loop. */
    private final class Gathered implements Runnable {
        private final EventExecutor loop;
        private final Map<String, Lines> byTenant = new HashMap<>();
        private boolean handOffPending;

        Gathered(EventExecutor loop) {
            this.loop = loop;
        }

        void add(String tenant, byte[] line, int length) {
            Lines lines = byTenant.get(tenant);
            if (lines == null) {
                lines = new Lines(tenant);
                byTenant.put(tenant, lines);
            }
            lines.add(line, length);
            if (lines.length >= PIECE_LIMIT) {
                lines.handOff();
            } else if (!handOffPending) {
                handOffPending = true;
                loop.schedule(this, HANDOFF_MILLIS, TimeUnit.MILLISECONDS);
            }
        }

        /** Hands everything gathered to the writer; tenants quiet since the last time are forgotten. */
        @Override
        public void run() {
            handOffPending = false;
            byTenant.values().removeIf(Lines::handOff);
        }
    }

    /** Lines gathered for one tenant on one loop. */
    private final class Lines {
        private final String tenant;
        private byte[] bytes = new byte[4096];
        private int length;
        private int count;

        Lines(String tenant) {
            this.tenant = tenant;
        }

        void add(byte[] line, int lineLength) {
            if (length + lineLength + 1 > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + lineLength + 1));
            }
            System.arraycopy(line, 0, bytes, length, lineLength);
            length += lineLength;
            bytes[length++] = '\n';
            count++;
        }

        /**
         * Gives the writer a copy of the lines gathered (this buffer stays, at the size the
         * traffic needs); true if there were none.
         */
        boolean handOff() {
            if (count == 0) {
                return true;
            }
            if (!queue.offer(new Piece(tenant, Arrays.copyOf(bytes, length)))) {
                dropped.addAndGet(count);
            }
            length = 0;
            count = 0;
            return false;
        }
    }

    private void run() {
        List<Piece> batch = new ArrayList<>();
        try {
            while (true) {
                Piece first = queue.poll(1, TimeUnit.SECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch);
                boolean stop = write(batch);
                batch.clear();
                if (stop) {
                    break;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            closeAll();
        }
    }

    private void closeAll() {
        files.values().forEach(open -> closeQuietly(open.out));
        files.clear();
    }

    private boolean write(List<Piece> batch) {
        Settings settings = wanted;
        if (settings != applied) {
            if (!settings.directory().equals(applied.directory())) {
                closeAll(); // reopened in the new directory at their next line
            }
            applied = settings;
        }
        Map<String, OpenLog> touched = new HashMap<>();
        boolean stop = false;
        for (Piece piece : batch) {
            if (piece == STOP) {
                stop = true;
                continue;
            }
            try {
                OpenLog log = files.computeIfAbsent(piece.tenant(), this::open);
                log.out.write(piece.bytes());
                log.size += piece.bytes().length;
                touched.put(piece.tenant(), log);
            } catch (IOException | UncheckedIOException e) {
                LOG.warn("access log of {}: {}", piece.tenant(), e.getMessage());
                OpenLog failed = files.remove(piece.tenant());
                if (failed != null) {
                    closeQuietly(failed.out);
                }
            }
        }
        touched.forEach((tenant, log) -> {
            try {
                log.out.flush();
            } catch (IOException e) {
                closeQuietly(files.remove(tenant).out);
                return;
            }
            if (log.size >= applied.maxBytes()) {
                rotate(tenant);
            }
        });
        return stop;
    }

    private Path file(String tenant) {
        return applied.directory().resolve(tenant + ".access.log");
    }

    private Path part(String tenant, int generation) {
        return applied.directory().resolve(tenant + ".access.log." + generation);
    }

    /** The tenant's full log becomes part 1, older parts move up; its next line starts a new file. */
    private void rotate(String tenant) {
        closeQuietly(files.remove(tenant).out);
        int keep = applied.keep();
        try {
            Files.deleteIfExists(keep > 0 ? part(tenant, keep) : file(tenant));
            for (int generation = keep - 1; generation >= 1; generation--) {
                Path older = part(tenant, generation);
                if (Files.exists(older)) {
                    Files.move(older, part(tenant, generation + 1), StandardCopyOption.ATOMIC_MOVE);
                }
            }
            if (keep > 0) {
                Files.move(file(tenant), part(tenant, 1), StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            // The file goes on growing until a rotation succeeds: lines are never dropped for it.
            LOG.warn("access log of {}: rotation failed: {}", tenant, e.toString());
        }
    }

    private OpenLog open(String tenant) {
        try {
            Files.createDirectories(applied.directory());
            Path path = file(tenant);
            OutputStream out = Files.newOutputStream(path,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
            return new OpenLog(new java.io.BufferedOutputStream(out, 16384), Files.size(path));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void closeQuietly(OutputStream out) {
        if (out != null) {
            try {
                out.close();
            } catch (IOException ignored) {
                // The file is gone or the disk is failing; the next line reopens it.
            }
        }
    }

    /**
     * Writes every line logged so far, then stops the writer. The event loops must still be
     * running: each hands over what it has gathered.
     */
    @Override
    public void close() {
        try {
            for (Gathered loop : everyLoop) {
                if (loop.loop.inEventLoop()) {
                    loop.run(); // closed from that loop itself: waiting on it would deadlock
                } else if (!loop.loop.isShuttingDown()) {
                    loop.loop.submit(loop).await(1, TimeUnit.SECONDS);
                }
            }
            queue.put(STOP);
            writer.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static final class UncheckedIOException extends RuntimeException {
        UncheckedIOException(IOException cause) {
            super(cause.getMessage(), cause);
        }
    }
}
