package dev.emperor.supervisor.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Each case once hung or exhausted the vassal watcher; all must answer at once. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class UntrustedFileTest {
    @TempDir
    Path dir;

    @Test
    void aRegularFileIsReadWhole() throws IOException {
        Path file = Files.writeString(dir.resolve("a.ini"), "[vassal]\nexec = true\n");
        assertThat(new String(UntrustedFile.read(file, 1 << 20))).isEqualTo("[vassal]\nexec = true\n");
    }

    @Test
    void aFifoIsRefusedWithoutBlocking() throws Exception {
        Path fifo = dir.resolve("x.ini");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        assertThatThrownBy(() -> UntrustedFile.read(fifo, 1 << 20)).isInstanceOf(IOException.class)
                .hasMessageContaining("not a regular file");
    }

    @Test
    void aLinkIsNeverFollowedEvenToARegularFile() throws IOException {
        Path target = Files.writeString(dir.resolve("real.ini"), "[vassal]\n");
        Path toFile = Files.createSymbolicLink(dir.resolve("l.ini"), target);
        Path toZero = Files.createSymbolicLink(dir.resolve("z.ini"), Path.of("/dev/zero"));
        assertThatThrownBy(() -> UntrustedFile.read(toFile, 1 << 20)).hasMessageContaining("symbolic link");
        assertThatThrownBy(() -> UntrustedFile.read(toZero, 1 << 20)).hasMessageContaining("symbolic link");
    }

    @Test
    void aDeviceOrDirectoryIsRefused() {
        assertThatThrownBy(() -> UntrustedFile.read(Path.of("/dev/zero"), 1 << 20)).hasMessageContaining("not a regular file");
        assertThatThrownBy(() -> UntrustedFile.read(dir, 1 << 20)).hasMessageContaining("a directory");
    }

    @Test
    void aFileOverTheLimitIsRefusedWithoutReadingIt() throws IOException {
        Path big = dir.resolve("big.ini");
        try (var f = new java.io.RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(8L << 30); // sparse 8 GiB: reading it would take the heap
        }
        assertThatThrownBy(() -> UntrustedFile.read(big, 1 << 20)).hasMessageContaining("larger than 1 MiB");
    }

    @Test
    void aMissingFileIsNoSuchFile() {
        assertThatThrownBy(() -> UntrustedFile.read(dir.resolve("gone.ini"), 100)).isInstanceOf(NoSuchFileException.class);
    }
}
