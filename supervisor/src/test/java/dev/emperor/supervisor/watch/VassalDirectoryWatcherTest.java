package dev.emperor.supervisor.watch;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real inotify on a temporary directory; events are collected in order. */
class VassalDirectoryWatcherTest {
    @TempDir
    Path dir;

    private final LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();
    private VassalDirectoryWatcher watcher;

    @BeforeEach
    void start() throws IOException {
        Files.writeString(dir.resolve("early.ini"), "[vassal]\nexec = a\n");
        watcher = new VassalDirectoryWatcher(dir, Duration.ofHours(1), new VassalDirectoryWatcher.Listener() {
            @Override
            public void vassalFile(String name, Path file, String contentHash) {
                events.add("file " + name + " " + file.getFileName());
            }

            @Override
            public void vassalConflict(String name, List<Path> files) {
                events.add("conflict " + name);
            }

            @Override
            public void vassalRejected(Path file, String reason) {
                events.add("rejected " + file.getFileName());
            }

            @Override
            public void vassalRemoved(String name) {
                events.add("removed " + name);
            }
        });
        watcher.start();
    }

    @AfterEach
    void stop() throws IOException {
        watcher.close();
    }

    private String next() throws InterruptedException {
        String event = events.poll(10, TimeUnit.SECONDS);
        assertThat(event).as("an event within 10 s").isNotNull();
        return event;
    }

    /** Nothing more arrives: a sentinel file's event is the very next one. */
    private void assertNoMoreEventsBefore(String sentinel) throws Exception {
        writeAtomically(dir.resolve(sentinel + ".ini"), "[vassal]\nexec = s\n");
        assertThat(next()).isEqualTo("file " + sentinel + " " + sentinel + ".ini");
    }

    /** As a control panel writes: a temporary name, then a rename (in-place writes can be seen half-done). */
    private static void writeAtomically(Path file, String content) throws IOException {
        Path temp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.writeString(temp, content);
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void filesPresentAtStartAreReportedSynchronously() {
        assertThat(events.poll()).isEqualTo("file early early.ini");
    }

    @Test
    void writeToTempThenRenameIsSeenOnceWithTheFinalContent() throws Exception {
        events.clear();
        Path temp = dir.resolve(".shop.ini.tmp");
        Files.writeString(temp, "[vassal]\nexec = b\n");
        Files.move(temp, dir.resolve("shop.ini"), StandardCopyOption.ATOMIC_MOVE);
        assertThat(next()).isEqualTo("file shop shop.ini");
        assertNoMoreEventsBefore("sentinel1");
    }

    @Test
    void touchingAFileOrReplacingItWithTheSameBytesIsNotAChange() throws Exception {
        events.clear();
        Files.setLastModifiedTime(dir.resolve("early.ini"), java.nio.file.attribute.FileTime.fromMillis(0));
        // Same bytes again, replaced atomically. (An in-place rewrite truncates first, and a
        // read in between sees the empty file: the lifecycle tolerates that transient state,
        // a running tenant keeps its last valid configuration, but it is a real event.)
        writeAtomically(dir.resolve("early.ini"), "[vassal]\nexec = a\n");
        assertNoMoreEventsBefore("sentinel2");
        Files.writeString(dir.resolve("early.ini"), "[vassal]\nexec = changed\n");
        // an in-place write may be seen mid-way (empty) and then complete: the last event is the content
        assertThat(next()).isEqualTo("file early early.ini");
    }

    @Test
    void editorSwapFilesAndDotfilesAreIgnored() throws Exception {
        events.clear();
        Files.writeString(dir.resolve(".early.ini.swp"), "x");
        Files.writeString(dir.resolve("early.ini~"), "x");
        Files.writeString(dir.resolve("notes.txt"), "x");
        assertNoMoreEventsBefore("sentinel3");
    }

    @Test
    void deletingTheFileRemovesTheTenant() throws Exception {
        events.clear();
        Files.delete(dir.resolve("early.ini"));
        assertThat(next()).isEqualTo("removed early");
    }

    @Test
    void anIniAndAJsonForOneNameAreAConflict() throws Exception {
        events.clear();
        writeAtomically(dir.resolve("early.json"), "{\"exec\": \"a\"}");
        assertThat(next()).isEqualTo("conflict early");
        Files.delete(dir.resolve("early.ini"));
        assertThat(next()).isEqualTo("file early early.json");
    }

    @Test
    void aVassalFileWithAnImpossibleNameIsRejectedOnce() throws Exception {
        events.clear();
        writeAtomically(dir.resolve("Bad Name.ini"), "[vassal]\nexec = a\n");
        assertThat(next()).isEqualTo("rejected Bad Name.ini");
        assertNoMoreEventsBefore("sentinel4");
    }

    @Test
    void aRescanFindsChangesWithoutEvents() throws Exception {
        watcher.close(); // no more inotify: only rescans report
        events.clear();
        writeAtomically(dir.resolve("late.ini"), "[vassal]\nexec = a\n");
        Files.delete(dir.resolve("early.ini"));
        watcher.rescan();
        assertThat(List.of(next(), next())).containsExactlyInAnyOrder("removed early", "file late late.ini");
    }
}
