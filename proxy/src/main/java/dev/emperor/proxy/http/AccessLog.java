package dev.emperor.proxy.http;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocal;
import java.io.IOException;
import java.io.OutputStream;
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

    private final Path directory;
    private final BlockingQueue<Piece> queue = new ArrayBlockingQueue<>(1024);
    private final AtomicLong dropped = new AtomicLong();
    /** The writer thread's open files. */
    private final Map<String, OutputStream> files = new HashMap<>();
    private final Thread writer;
    /** Each event loop's gathered lines, and all of them (to hand over what is left at close). */
    private final FastThreadLocal<Gathered> gathered = new FastThreadLocal<>();
    private final Set<Gathered> everyLoop = ConcurrentHashMap.newKeySet();

    public AccessLog(Path directory) {
        this.directory = directory;
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
            files.values().forEach(AccessLog::closeQuietly);
            files.clear();
        }
    }

    private boolean write(List<Piece> batch) {
        Map<String, OutputStream> touched = new HashMap<>();
        boolean stop = false;
        for (Piece piece : batch) {
            if (piece == STOP) {
                stop = true;
                continue;
            }
            try {
                OutputStream out = files.computeIfAbsent(piece.tenant(), this::open);
                out.write(piece.bytes());
                touched.put(piece.tenant(), out);
            } catch (IOException | UncheckedIOException e) {
                LOG.warn("access log of {}: {}", piece.tenant(), e.getMessage());
                closeQuietly(files.remove(piece.tenant()));
            }
        }
        touched.forEach((tenant, out) -> {
            try {
                out.flush();
            } catch (IOException e) {
                closeQuietly(files.remove(tenant));
            }
        });
        return stop;
    }

    private OutputStream open(String tenant) {
        try {
            Files.createDirectories(directory);
            return new java.io.BufferedOutputStream(Files.newOutputStream(directory.resolve(tenant + ".access.log"),
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE), 16384);
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
