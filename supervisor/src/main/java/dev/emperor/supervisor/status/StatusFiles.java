package dev.emperor.supervisor.status;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.emperor.supervisor.config.VassalFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * status-dir: one NAME.json per vassal for panels that only read files. Callers say a name
 * changed ({@link #changed}, never blocking: the vassal's mailbox and the watcher call it);
 * one thread of its own renders and writes. A burst of changes to one name is folded into a
 * single write of the latest status, and only that thread writes, so at most one write per
 * name is ever in flight. Each file is written to {@code .NAME.json.tmp}, fsync'd and renamed
 * over NAME.json: a reader sees the old or the new file whole, also after a host crash. A name
 * the renderer no longer knows (its vassal was removed) has its file deleted.
 *
 * <p>A failing directory (unwritable, disk full) never reaches tenants: each distinct error is
 * logged once, the failures are counted in {@link #health}, and the name is tried again later.
 */
public final class StatusFiles implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StatusFiles.class);
    private static final ObjectMapper json = new ObjectMapper();
    /** The format of NAME.json; a panel checks it before reading the rest. */
    public static final int VERSION = 1;
    private static final String SUFFIX = ".json";
    private static final long RETRY_MILLIS = 5_000;

    private final Function<String, Optional<ObjectNode>> render;
    private final Supplier<Collection<String>> knownNames;
    private final ScheduledThreadPoolExecutor thread;
    /** Names whose file is behind; insertion order so an early change is not starved by later ones. */
    private final Set<String> dirty = new LinkedHashSet<>();
    private boolean drainQueued;
    private final Set<String> retrying = ConcurrentHashMap.newKeySet();
    private volatile Optional<Path> dir = Optional.empty();

    // Health: written on the writer thread only.
    private volatile String failing;
    private volatile long failedWrites;
    private final Set<String> errorsLogged = ConcurrentHashMap.newKeySet();

    /**
     * @param render     a vassal's status as {@code emperor status NAME --json} shows it; empty
     *                   when there is no such vassal (any more)
     * @param knownNames every vassal's name, written once when a directory is taken into use
     */
    public StatusFiles(Function<String, Optional<ObjectNode>> render, Supplier<Collection<String>> knownNames) {
        this.render = render;
        this.knownNames = knownNames;
        this.thread = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().name("status-dir").daemon().unstarted(r));
        this.thread.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    /**
     * Writes into {@code directory} from now on (empty: the feature is off). A new directory is
     * made (0755: panels under other users read it; only root writes) and brought up to date:
     * every known vassal is written and NAME.json files of vassals that no longer exist are
     * deleted. Files in a directory no longer used are left as they are.
     */
    public void use(Optional<Path> directory) {
        if (directory.equals(dir)) return;
        dir = directory;
        if (directory.isEmpty()) {
            log.info("status-dir: off");
            return;
        }
        thread.execute(() -> bringUpToDate(directory.get()));
    }

    /** The named vassal's status changed (or it was removed). Returns at once. */
    public void changed(String name) {
        if (dir.isEmpty()) return;
        synchronized (dirty) {
            dirty.add(name);
            if (drainQueued) return;
            drainQueued = true;
        }
        try {
            thread.execute(this::drain);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            // the emperor is closing: nothing more is written
        }
    }

    /** "ok", "off", or "failing: REASON (N failed writes)". */
    public String health() {
        if (dir.isEmpty()) return "off";
        String reason = failing;
        return reason == null ? "ok" : "failing: " + reason + " (" + failedWrites + " failed writes)";
    }

    /** Writes and deletions that failed since the start. */
    public long failedWrites() {
        return failedWrites;
    }

    private void bringUpToDate(Path directory) {
        try {
            if (!Files.isDirectory(directory)) {
                Files.createDirectories(directory);
                // 0755 whatever the umask: panels under other users read it; only root writes
                Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            log.info("status-dir: writing vassals' status to {}", directory);
        } catch (IOException e) {
            failed(directory, e);
        }
        for (String name : knownNames.get()) changed(name);
        // Files of vassals that are gone: their names render to nothing, so the write deletes them.
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*" + SUFFIX)) {
            for (Path file : files) {
                String fileName = file.getFileName().toString();
                String name = fileName.substring(0, fileName.length() - SUFFIX.length());
                if (VassalFiles.isTenantName(name)) changed(name); // never touches files that cannot be ours
            }
        } catch (IOException e) {
            failed(directory, e);
        }
    }

    private void drain() {
        while (true) {
            String name;
            synchronized (dirty) {
                var it = dirty.iterator();
                if (!it.hasNext()) {
                    drainQueued = false;
                    return;
                }
                name = it.next();
                it.remove();
            }
            write(name);
        }
    }

    private void write(String name) {
        Optional<Path> directory = dir;
        if (directory.isEmpty()) return;
        Path target = directory.get().resolve(name + SUFFIX);
        try {
            Optional<ObjectNode> status;
            try {
                status = render.apply(name);
            } catch (RuntimeException e) {
                // the status could not be read (e.g. while the emperor stops): keep the file as it was
                log.warn("status-dir: cannot read the status of {}: {}", name, e.toString());
                return;
            }
            if (status.isEmpty()) {
                Files.deleteIfExists(target);
            } else {
                ObjectNode node = status.get().deepCopy();
                node.put("version", VERSION);
                node.put("updatedAt", Instant.now().truncatedTo(ChronoUnit.MILLIS).toString());
                replace(target, json.writerWithDefaultPrettyPrinter().writeValueAsBytes(node));
            }
            if (failing != null) {
                log.info("status-dir: writing to {} works again", directory.get());
                failing = null;
                errorsLogged.clear();
            }
        } catch (IOException e) {
            failed(directory.get(), e);
            if (retrying.add(name)) {
                thread.schedule(() -> {
                    retrying.remove(name);
                    changed(name);
                }, RETRY_MILLIS, TimeUnit.MILLISECONDS);
            }
        }
    }

    /** .NAME.json.tmp, fsync'd, then renamed over NAME.json: never a half-written NAME.json. */
    private static void replace(Path target, byte[] content) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        try {
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING, LinkOption.NOFOLLOW_LINKS)) {
                ByteBuffer buffer = ByteBuffer.wrap(content);
                while (buffer.hasRemaining()) out.write(buffer);
                out.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp); // a full disk must not keep a partial temporary file
            } catch (IOException ignored) {
                // the directory itself is failing: the error above says so
            }
            throw e;
        }
    }

    private void failed(Path directory, IOException e) {
        failedWrites++;
        // the reason without the file name, so one broken directory is one logged error, not one per tenant
        String reason = e instanceof FileSystemException fs && fs.getReason() != null ? fs.getReason()
                : e instanceof FileSystemException ? e.getClass().getSimpleName() : e.getMessage();
        failing = directory + ": " + reason;
        if (errorsLogged.add(reason)) {
            log.error("status-dir: cannot write to {}: {} (tenants are not affected; retrying)", directory, e.toString());
        }
    }

    /** Finishes the writes already asked for (briefly), then stops. */
    @Override
    public void close() {
        thread.shutdown();
        try {
            thread.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        thread.shutdownNow();
    }
}
