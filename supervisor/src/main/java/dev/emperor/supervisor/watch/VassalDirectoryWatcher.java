package dev.emperor.supervisor.watch;

import dev.emperor.supervisor.config.UntrustedFile;
import dev.emperor.supervisor.config.VassalFiles;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the vassal directory into a stream of "this tenant's file is now X" and "this
 * tenant's file is gone". inotify (through WatchService) makes it prompt; a periodic full
 * rescan is the safety net for lost events and queue overflows.
 *
 * <p>Changes are detected by content (SHA-256), never by mtime: a touch does nothing and a
 * control panel's write-to-temp-then-rename is seen exactly once, because temporary names
 * are ignored and the rename delivers the final content in one event.
 */
public final class VassalDirectoryWatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(VassalDirectoryWatcher.class);
    private static final int MAX_FILE_BYTES = 1 << 20;

    /** What the watcher reports. Calls come from the watcher's single thread, in order. */
    public interface Listener {
        /** The tenant's file appeared or its content changed. */
        void vassalFile(String name, Path file, String contentHash);

        /** Two files claim the same tenant name (NAME.ini and NAME.json). */
        void vassalConflict(String name, List<Path> files);

        /** A vassal file is named in a way that can never be a tenant (e.g. "Bad Name.ini"). */
        void vassalRejected(Path file, String reason);

        /** The tenant's file is gone. */
        void vassalRemoved(String name);
    }

    private record Seen(List<Path> files, String hash) {}

    private final Path dir;
    private final Listener listener;
    private final Duration rescanInterval;
    private final Map<String, Seen> seen = new HashMap<>();
    private final Map<Path, String> rejected = new HashMap<>();
    private final WatchService watchService;
    private final Thread thread;
    private volatile boolean closed;
    private final java.util.concurrent.atomic.AtomicLong failures = new java.util.concurrent.atomic.AtomicLong();
    private volatile String lastFailure;

    public VassalDirectoryWatcher(Path dir, Duration rescanInterval, Listener listener) throws IOException {
        this.dir = dir;
        this.listener = listener;
        this.rescanInterval = rescanInterval;
        this.watchService = dir.getFileSystem().newWatchService();
        dir.register(watchService, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
                StandardWatchEventKinds.ENTRY_DELETE);
        this.thread = Thread.ofPlatform().name("vassal-watcher").daemon().unstarted(this::loop);
    }

    /** "ok", or how often the watcher thread failed and the last failure, or that it stopped. */
    public String health() {
        if (closed) return "closed";
        if (thread.getState() == Thread.State.TERMINATED) return "stopped" + (lastFailure == null ? "" : ": " + lastFailure);
        long n = failures.get();
        return n == 0 ? "ok" : "ok after " + n + " failure(s), last: " + lastFailure;
    }

    /** Reports every file present now (synchronously), then watches in the background. */
    public void start() {
        rescan();
        thread.start();
    }

    private void loop() {
        long nextRescan = System.nanoTime() + rescanInterval.toNanos();
        while (!closed) {
            try {
                long waitNanos = Math.max(0, nextRescan - System.nanoTime());
                WatchKey key = watchService.poll(waitNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
                if (key == null) {
                    rescan();
                    nextRescan = System.nanoTime() + rescanInterval.toNanos();
                    continue;
                }
                boolean overflow = false;
                List<String> names = new ArrayList<>();
                for (WatchEvent<?> event : key.pollEvents()) {
                    if (event.kind() == StandardWatchEventKinds.OVERFLOW) {
                        overflow = true;
                    } else {
                        Path file = dir.resolve((Path) event.context());
                        VassalFiles.tenantName(file).ifPresentOrElse(names::add, () -> checkRejected(file));
                    }
                }
                if (!key.reset()) {
                    log.error("vassal directory {} is no longer watchable (deleted?); relying on rescans", dir);
                }
                if (overflow) {
                    rescan();
                } else {
                    names.stream().distinct().forEach(this::examine);
                }
            } catch (ClosedWatchServiceException | InterruptedException e) {
                return;
            } catch (RuntimeException | Error e) {
                // The watcher must never die silently: one bad event must not stop every later file.
                failures.incrementAndGet();
                lastFailure = java.time.Instant.now() + " " + e;
                log.error("vassal watcher: {} (it goes on)", e.toString(), e);
                nextRescan = System.nanoTime() + rescanInterval.toNanos();
            }
        }
    }

    /** Re-reads every file in the directory and reports every difference. */
    public synchronized void rescan() {
        Map<String, List<Path>> byName = new TreeMap<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path file : files) {
                Optional<String> name = VassalFiles.tenantName(file);
                if (name.isPresent()) {
                    byName.computeIfAbsent(name.get(), n -> new ArrayList<>()).add(file);
                } else {
                    checkRejected(file);
                }
            }
        } catch (IOException e) {
            log.error("cannot list vassal directory {}: {}", dir, e.toString());
            return; // keep what we know: an unreadable directory must not stop every tenant
        }
        for (String name : List.copyOf(seen.keySet())) {
            if (!byName.containsKey(name)) {
                seen.remove(name);
                listener.vassalRemoved(name);
            }
        }
        byName.forEach(this::report);
    }

    /** Re-reads the files that may belong to one tenant. */
    private synchronized void examine(String name) {
        List<Path> files = new ArrayList<>();
        for (String ext : List.of(".ini", ".json")) {
            Path file = dir.resolve(name + ext);
            // any entry counts (a FIFO, a link): reading it reports why it is refused, it is not "removed"
            if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) files.add(file);
        }
        if (files.isEmpty()) {
            if (seen.remove(name) != null) listener.vassalRemoved(name);
            return;
        }
        report(name, files);
    }

    private void report(String name, List<Path> files) {
        if (files.size() > 1) {
            String key = "conflict:" + files;
            Seen before = seen.put(name, new Seen(files, key));
            if (before == null || !before.hash().equals(key)) listener.vassalConflict(name, files);
            return;
        }
        Path file = files.get(0);
        String hash;
        try {
            hash = hashOf(file);
        } catch (NoSuchFileException e) {
            return; // vanished between listing and reading: the delete event that follows settles it
        } catch (IOException e) {
            hash = "unreadable:" + e.getMessage();
        }
        Seen before = seen.put(name, new Seen(files, hash));
        if (before == null || !before.hash().equals(hash) || !before.files().equals(files)) {
            listener.vassalFile(name, file, hash);
        }
    }

    private void checkRejected(Path file) {
        if (!Files.isRegularFile(file)) {
            rejected.remove(file);
            return;
        }
        VassalFiles.rejectReason(file).ifPresent(reason -> {
            if (!reason.equals(rejected.put(file, reason))) listener.vassalRejected(file, reason);
        });
    }

    /** SHA-256 of the file's bytes: the identity of one version of a vassal's configuration. */
    public static String hashOf(Path file) throws IOException {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(digest.digest(UntrustedFile.read(file, MAX_FILE_BYTES)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        watchService.close();
        thread.interrupt();
    }
}
