package dev.emperor.supervisor.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class VassalFileNamesTest {

    private static Path vassal(String name) {
        return Path.of("/etc/emperor/vassals", name);
    }

    @ParameterizedTest
    @CsvSource({
        "hello.ini, hello",
        "worker.json, worker",
        "a.ini, a",
        "0.json, 0",
        "my_app-2.ini, my_app-2",
        "abcdefghijklmnopqrstuvwxyz012345.ini, abcdefghijklmnopqrstuvwxyz012345",
    })
    void iniAndJsonFilesWithGoodNamesAreTenants(String file, String tenant) {
        assertThat(VassalFiles.tenantName(vassal(file))).contains(tenant);
        assertThat(VassalFiles.rejectReason(vassal(file))).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        ".hello.ini", ".hello.ini.swp", "hello.ini~", "hello.ini.swp", "hello.ini.swx", "hello.ini.tmp",
        "hello.json.part", "hello.ini.new", "#hello.ini#", ".#hello.ini", "hello.ini.bak", "hello.conf",
        "hello", "hello.INI", "README.md", ".ini", ".json", "hello.yaml", "4913",
    })
    void temporaryEditorAndOtherFilesAreIgnoredSilently(String file) {
        assertThat(VassalFiles.tenantName(vassal(file))).isEmpty();
        assertThat(VassalFiles.rejectReason(vassal(file))).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "Hello.ini", "-app.ini", "_app.json", "my app.ini", "app.v2.ini", "caf\u00e9.ini",
        "abcdefghijklmnopqrstuvwxyz0123456.ini", "a:b.json",
    })
    void vassalFilesWithBadNamesAreRefusedWithAReason(String file) {
        assertThat(VassalFiles.tenantName(vassal(file))).isEmpty();
        assertThat(VassalFiles.rejectReason(vassal(file))).hasValueSatisfying(reason -> assertThat(reason)
                .startsWith("bad tenant name '")
                .endsWith("': 1 to 32 of a-z, 0-9, '_' and '-', starting with a letter or digit"));
    }

    @Test
    void loadingABadlyNamedFileIsAConfigErrorNamingTheFile(@TempDir Path dir) {
        TestHost host = new TestHost(dir);
        Path file = host.write("Bad.ini", TestHost.ini());
        assertThatThrownBy(() -> VassalFiles.load(file, host.env))
                .isInstanceOf(ConfigError.class)
                .hasMessage(file + ": bad tenant name 'Bad': 1 to 32 of a-z, 0-9, '_' and '-', starting with a letter or digit");
    }

    @Test
    void loadingATemporaryFileIsAConfigError(@TempDir Path dir) {
        TestHost host = new TestHost(dir);
        Path file = host.write("app.ini.tmp", TestHost.ini());
        assertThatThrownBy(() -> VassalFiles.load(file, host.env))
                .hasMessage(file + ": not a vassal file: expected NAME.ini or NAME.json");
    }

    @Test
    void aTenantDefinedTwiceNamesBothFiles() {
        ConfigError e = VassalFiles.duplicateError(vassal("app.json"), vassal("app.ini"));
        assertThat(e.getMessage()).isEqualTo(
                "/etc/emperor/vassals/app.json: tenant 'app' is defined twice, by app.ini and app.json; remove one of them");
        assertThat(VassalFiles.duplicateError(vassal("app.ini"), vassal("app.json")).getMessage()).isEqualTo(e.getMessage());
    }

    @Test
    void tenantNameRule() {
        assertThat(VassalFiles.isTenantName("a")).isTrue();
        assertThat(VassalFiles.isTenantName("a".repeat(32))).isTrue();
        assertThat(VassalFiles.isTenantName("a".repeat(33))).isFalse();
        assertThat(VassalFiles.isTenantName("")).isFalse();
        assertThat(VassalFiles.isTenantName("a/b")).isFalse();
        assertThat(VassalFiles.isTenantName("..")).isFalse();
    }
}
