package dev.emperor.jail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HelperBinaryTest {
    @TempDir
    Path tmp;

    private static final byte[] V1 = "#!/bin/sh\necho one\n".getBytes(StandardCharsets.UTF_8);
    private static final byte[] V2 = "#!/bin/sh\necho two\n".getBytes(StandardCharsets.UTF_8);

    @Test
    void extractsAnExecutableRootOnlyFileNamedByContentHash() throws Exception {
        Path bin = HelperBinary.extract(tmp.resolve("bin"), V1);
        assertThat(bin.getFileName().toString()).matches("emperor-init-[0-9a-f]{16}");
        assertThat(Files.readAllBytes(bin)).isEqualTo(V1);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(bin))).isEqualTo("rwxr-xr-x");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(bin.getParent()))).isEqualTo("rwxr-xr-x");
    }

    @Test
    void anUpgradeGetsItsOwnFileAndTheOldOneStays() {
        Path one = HelperBinary.extract(tmp.resolve("bin"), V1);
        Path two = HelperBinary.extract(tmp.resolve("bin"), V2);
        assertThat(two).isNotEqualTo(one);
        assertThat(one).exists();
        assertThat(HelperBinary.extract(tmp.resolve("bin"), V1)).isEqualTo(one);
    }

    @Test
    void aDamagedFileIsReplaced() throws Exception {
        Path bin = HelperBinary.extract(tmp.resolve("bin"), V1);
        Files.write(bin, "garbage".getBytes(StandardCharsets.UTF_8));
        assertThat(HelperBinary.extract(tmp.resolve("bin"), V1)).isEqualTo(bin);
        assertThat(Files.readAllBytes(bin)).isEqualTo(V1);
    }

    @Test
    void refusesADirectoryOthersCanWrite() throws Exception {
        Path open = Files.createDirectory(tmp.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThatThrownBy(() -> HelperBinary.extract(open, V1))
                .isInstanceOf(JailException.class)
                .hasMessageContaining("writable by root only");
    }

    @Test
    void refusesAnInstalledHelperOthersCanWrite() throws Exception {
        Path bin = HelperBinary.extract(tmp.resolve("bin"), V1);
        Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxrwxr-x"));
        assertThatThrownBy(() -> HelperBinary.verify(bin)).hasMessageContaining("writable by root only");
    }
}
