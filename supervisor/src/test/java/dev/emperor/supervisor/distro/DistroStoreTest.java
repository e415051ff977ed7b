package dev.emperor.supervisor.distro;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store's bookkeeping; the real debootstrap run is exercised by distros/make-test-distros. */
class DistroStoreTest {
    @TempDir
    Path dir;

    @Test
    void listsDistrosWithTheirMetadataAndSkipsPartialOnes() throws Exception {
        Files.createDirectories(dir.resolve("bookworm"));
        Files.writeString(dir.resolve("bookworm/.emperor-distro"), "suite=bookworm\ncreated=2026-01-01T00:00:00Z\n");
        Files.createDirectories(dir.resolve("plain"));
        Files.createDirectories(dir.resolve(".trixie.partial"));
        List<DistroStore.Distro> distros = new DistroStore(dir).list();
        assertThat(distros).extracting(DistroStore.Distro::name).containsExactly("bookworm", "plain");
        assertThat(distros.get(0).suite()).isEqualTo("bookworm");
        assertThat(distros.get(1).suite()).isEqualTo("?");
    }

    @Test
    void removeDeletesTheWholeTreeWithoutFollowingSymlinks() throws Exception {
        Path outside = Files.createDirectories(dir.resolve("outside-the-store"));
        Files.writeString(outside.resolve("precious"), "keep me");
        Path store = Files.createDirectories(dir.resolve("store"));
        Path root = Files.createDirectories(store.resolve("old/usr/bin"));
        Files.writeString(root.resolve("tool"), "x");
        Files.createSymbolicLink(store.resolve("old/escape"), outside);
        new DistroStore(store).remove("old");
        assertThat(store.resolve("old")).doesNotExist();
        assertThat(outside.resolve("precious")).hasContent("keep me");
    }

    @Test
    void createRefusesAnExistingDistroOrABadNameBeforeRunningAnything() throws Exception {
        Files.createDirectories(dir.resolve("bookworm"));
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        DistroStore store = new DistroStore(dir);
        assertThatThrownBy(() -> store.create("bookworm", "bookworm", "http://mirror.invalid", List.of(), quiet))
                .hasMessageContaining("already exists");
        assertThatThrownBy(() -> store.create("../etc", "bookworm", "http://mirror.invalid", List.of(), quiet))
                .hasMessageContaining("bad distro name");
        assertThatThrownBy(() -> store.create("new", "bookworm; rm -rf /", "http://mirror.invalid", List.of(), quiet))
                .hasMessageContaining("bad suite name");
        assertThatThrownBy(() -> store.remove("missing")).hasMessageContaining("no distro named 'missing'");
    }
}
