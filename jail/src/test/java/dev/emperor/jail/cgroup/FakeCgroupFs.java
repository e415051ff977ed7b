package dev.emperor.jail.cgroup;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Lays out control files in a temporary directory the way cgroupfs shows them. */
final class FakeCgroupFs {
    private FakeCgroupFs() {}

    /** Creates dir and, for each pair (name, content), the file dir/name. */
    static Path dir(Path dir, String... namesAndContents) {
        try {
            Files.createDirectories(dir);
            for (int i = 0; i < namesAndContents.length; i += 2) {
                Files.writeString(dir.resolve(namesAndContents[i]), namesAndContents[i + 1]);
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String content(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
