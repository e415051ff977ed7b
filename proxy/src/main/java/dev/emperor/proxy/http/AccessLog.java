package dev.emperor.proxy.http;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-tenant access logs ({@code DIR/TENANT.access.log}). Event loops only offer lines to a
 * bounded queue; one writer thread does the file I/O, so a slow disk never stalls traffic.
 * When the queue is full lines are dropped and counted rather than blocking.
 */
public final class AccessLog implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AccessLog.class);

    private record Line(String tenant, String text) {
    }

    private static final Line STOP = new Line("", "");
    /** How long the writer lets lines gather after writing a batch. */
    private static final long BATCH_MILLIS = 20;

    private final Path directory;
    private final BlockingQueue<Line> queue = new ArrayBlockingQueue<>(65536);
    private final AtomicLong dropped = new AtomicLong();
    private final Map<String, OutputStream> files = new HashMap<>();
    private final Thread writer;

    public AccessLog(Path directory) {
        this.directory = directory;
        this.writer = Thread.ofPlatform().name("emperor-access-log").daemon().unstarted(this::run);
        writer.start();
    }

    /** Queues a line; never blocks. */
    public void log(String tenant, String line) {
        if (!queue.offer(new Line(tenant, line))) {
            dropped.incrementAndGet();
        }
    }

    /** Lines lost to a full queue since start. */
    public long dropped() {
        return dropped.get();
    }

    private void run() {
        List<Line> batch = new ArrayList<>();
        try {
            while (true) {
                Line first = queue.poll(1, TimeUnit.SECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, 4096);
                boolean stop = write(batch);
                batch.clear();
                if (stop) {
                    break;
                }
                // Under load, collect lines for a while instead of being woken for each one:
                // a wake-up per request cost the event loops more than the logging itself.
                Thread.sleep(BATCH_MILLIS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            files.values().forEach(AccessLog::closeQuietly);
            files.clear();
        }
    }

    private boolean write(List<Line> batch) {
        Map<String, OutputStream> touched = new HashMap<>();
        boolean stop = false;
        for (Line line : batch) {
            if (line == STOP) {
                stop = true;
                continue;
            }
            try {
                OutputStream out = files.computeIfAbsent(line.tenant(), this::open);
                out.write(line.text().getBytes(StandardCharsets.UTF_8));
                out.write('\n');
                touched.put(line.tenant(), out);
            } catch (IOException | UncheckedIOException e) {
                LOG.warn("access log of {}: {}", line.tenant(), e.getMessage());
                closeQuietly(files.remove(line.tenant()));
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

    /** Writes everything queued so far, then stops the writer. */
    @Override
    public void close() {
        try {
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
