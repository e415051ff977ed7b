package dev.emperor.supervisor.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The state database on a real, small tmpfs that the test fills: records are kept in memory and
 * written once space returns, allocations fail with the directory's condition named, and a
 * known tenant's uid is still answered.
 */
class StateStoreFullDiskTest {
    private Path mountPoint;
    private StateStore store;

    @BeforeEach
    void mountSmallTmpfs() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "mounting a tmpfs needs root");
        mountPoint = Files.createDirectories(Path.of("target").toAbsolutePath()
                .resolve("emperor-test-full-state-" + ProcessHandle.current().pid()));
        // sqlite-jdbc's library stays mapped from where it was unpacked: not from this mount,
        // or it could never be unmounted while this JVM lives.
        if (System.getProperty("org.sqlite.tmpdir") == null) {
            System.setProperty("org.sqlite.tmpdir", Files.createDirectories(Path.of("target/sqlite-native")
                    .toAbsolutePath()).toString());
        }
        run("/bin/mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "emperor-test-state", mountPoint.toString());
        store = StateStore.open(mountPoint.resolve("state"));
    }

    @AfterEach
    void unmount() throws Exception {
        if (store != null) store.close();
        if (mountPoint != null) {
            run("/bin/umount", mountPoint.toString());
            Files.deleteIfExists(mountPoint);
        }
    }

    @Test
    void recordsWaitInMemoryWhileTheDiskIsFullAndAreWrittenOnceSpaceReturns() throws Exception {
        store.uids().allocate("known", 1000, 1999);
        store.vassals().recordSpawn("known", 42, 7, "hash", 1000, 1000);
        Path filler = fill();

        // Records until the WAL's free space is gone too: none of them may throw.
        int written = 0;
        while (store.deferredCount() == 0 && written < 100_000) {
            store.events().record("known", EventKind.EXIT, "line " + written++);
        }
        assertThat(store.deferredCount()).as("a record was refused by the full disk and kept").isPositive();
        store.vassals().recordExit("known", "killed by signal 9", true);
        store.identities().retire("gone", java.time.Instant.now());
        assertThat(store.health()).startsWith("state directory full (" + mountPoint.resolve("state") + "):");

        // A new tenant's uid must be on disk before it runs: refused, naming the condition.
        assertThatThrownBy(() -> store.uids().allocate("newcomer", 1000, 1999))
                .isInstanceOf(StateNotWritable.class)
                .hasMessageContaining("state directory full");
        // A known tenant's uid needs no write: its restart does not wait for the disk.
        assertThat(store.uids().allocate("known", 1000, 1999)).isEqualTo(1000);

        AtomicInteger recovered = new AtomicInteger();
        store.onWritableAgain(recovered::incrementAndGet);
        Files.delete(filler);
        store.retryDeferred();

        assertThat(store.health()).isEqualTo("ok");
        assertThat(store.deferredCount()).isZero();
        assertThat(recovered).hasValue(1);
        VassalRow known = store.vassals().get("known").orElseThrow();
        assertThat(known.lastExit()).isEqualTo("killed by signal 9");
        assertThat(known.pid()).isZero();
        assertThat(store.events().newest("known", 1).get(0).detail()).isEqualTo("line " + (written - 1));
        assertThat(store.uids().allocate("newcomer", 1000, 1999)).isEqualTo(1001);
        assertThat(store.identities().retired()).as("a retirement the full disk delayed").containsKey("gone");
    }

    /** Fills the tmpfs to the last byte with one file. */
    private Path fill() throws IOException {
        Path filler = mountPoint.resolve("filler");
        byte[] chunk = new byte[4096];
        try (OutputStream out = Files.newOutputStream(filler)) {
            while (true) out.write(chunk);
        } catch (IOException full) {
            assertThat(full.getMessage()).contains("No space left on device");
        }
        return filler;
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).inheritIO().start();
        assertThat(p.waitFor()).as(String.join(" ", command)).isZero();
    }
}
