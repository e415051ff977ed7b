package dev.emperor.supervisor.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The format references must describe the code as it is, and their examples must load. */
class DocumentationTest {
    private static final Path REPO = findRepository();
    private static final Path VASSAL_README = REPO.resolve("vassals/README.md");
    private static final Path CONFIG_MD = REPO.resolve("docs/CONFIG.md");

    @TempDir
    Path dir;

    private static Path findRepository() {
        Path here = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        for (Path p = here; p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("vassals/README.md"))) {
                return p;
            }
        }
        throw new IllegalStateException("no vassals/README.md above " + here);
    }

    private static List<String> codeBlocks(String markdown, String language) {
        List<String> blocks = new ArrayList<>();
        Matcher m = Pattern.compile("```" + language + "\n(.*?)```", Pattern.DOTALL).matcher(markdown);
        while (m.find()) {
            blocks.add(m.group(1));
        }
        return blocks;
    }

    @Test
    void vassalReadmeCarriesTheKeyTableOfTheSchema() throws IOException {
        String readme = Files.readString(VASSAL_README);
        int begin = readme.indexOf("<!-- keys:begin -->\n");
        int end = readme.indexOf("<!-- keys:end -->");
        assertThat(begin).as("keys:begin marker").isNotNegative();
        assertThat(end).as("keys:end marker").isGreaterThan(begin);
        String table = readme.substring(begin + "<!-- keys:begin -->\n".length(), end);
        assertThat(table)
                .as("vassals/README.md key table; replace it with VassalKey.referenceTable():\n%s", VassalKey.referenceTable())
                .isEqualTo(VassalKey.referenceTable());
    }

    @Test
    void everyVassalKeyIsDocumentedInTheReadme() throws IOException {
        String readme = Files.readString(VASSAL_README);
        for (VassalKey key : VassalKey.values()) {
            assertThat(readme).contains("| `" + key.key() + "` |");
            assertThat(key.doc() + key.defaultText()).as("%s: '|' would break the table", key).doesNotContain("|");
        }
    }

    /**
     * Each fixed default in the README's table, written into a file, gives exactly the vassal
     * the file gets without the key: so the documented default is the one the validator applies.
     */
    @Test
    void everyDocumentedFixedDefaultIsWhatAFileWithoutTheKeyGets() throws Exception {
        String readme = Files.readString(VASSAL_README);
        TestHost host = new TestHost(dir);
        int checked = 0;
        for (VassalKey key : VassalKey.values()) {
            Matcher row = Pattern.compile("(?m)^\\| `" + Pattern.quote(key.key()) + "` \\|[^|]*\\|[^|]*\\| ([^|]*) \\|")
                    .matcher(readme);
            assertThat(row.find()).as("row of %s", key.key()).isTrue();
            String documented = row.group(1);
            if (!(key.defaultValue() instanceof VassalKey.Default.Fixed)) continue;
            assertThat(documented).as("%s: a fixed default is shown as `VALUE`", key.key()).matches("`[^`]+`");
            String value = documented.substring(1, documented.length() - 1);
            // web keys only mean something with a domain
            String base = "[vassal]\nexec = /bin/true\ndomain = shop.example.com\n";
            VassalConfig without = host.load("probe.ini", base);
            VassalConfig with = host.load("probe.ini", base + key.key() + " = " + value + "\n");
            for (var component : VassalConfig.class.getRecordComponents()) {
                if (component.getName().equals("contentHash")) continue;
                assertThat(component.getAccessor().invoke(with))
                        .as("%s = %s (the documented default) changes %s", key.key(), value, component.getName())
                        .isEqualTo(component.getAccessor().invoke(without));
            }
            checked++;
        }
        assertThat(checked).as("keys with a fixed default").isGreaterThanOrEqualTo(8);
    }

    @Test
    void vassalReadmeListsEveryRelaxableSyscall() throws IOException {
        String readme = Files.readString(VASSAL_README);
        for (String syscall : RelaxableSyscalls.NAMES) {
            assertThat(readme).contains("`" + syscall + "`");
        }
    }

    @Test
    void vassalReadmeExamplesLoad() throws Exception {
        String readme = Files.readString(VASSAL_README);
        TestHost host = new TestHost(dir);
        List<String> ini = codeBlocks(readme, "ini");
        List<String> json = codeBlocks(readme, "json");
        assertThat(ini).isNotEmpty();
        assertThat(json).isNotEmpty();
        for (String block : ini) {
            assertThat(host.load("example.ini", block).argv()).isNotEmpty();
        }
        for (String block : json) {
            assertThat(host.load("example.json", block).argv()).isNotEmpty();
        }
    }

    @Test
    void configReferenceDocumentsEveryEmperorKeyAndNoOther() throws IOException {
        String doc = Files.readString(CONFIG_MD);
        for (String key : EmperorConfig.KEYS) {
            assertThat(doc).contains("| `" + key + "` |");
        }
        Matcher rows = Pattern.compile("(?m)^\\| `([a-z-]+)` \\|").matcher(doc);
        while (rows.find()) {
            assertThat(EmperorConfig.KEYS).contains(rows.group(1));
        }
    }

    /**
     * emperor.ini's defaults live in EmperorConfig, not in a schema: here each literal default
     * of docs/CONFIG.md's table (a single word such as `10s`, `64M`, `false`; not rules such as
     * "STATE-DIR/distros" or "unset"), written into emperor.ini, must give the configuration
     * an emperor.ini without the key gives.
     */
    @Test
    void everyLiteralDefaultOfTheConfigReferenceIsWhatAnEmptyEmperorIniGets() throws Exception {
        Matcher rows = Pattern.compile("(?m)^\\| `([a-z-]+)` \\| ([^|]*) \\|").matcher(Files.readString(CONFIG_MD));
        int checked = 0;
        while (rows.find()) {
            String key = rows.group(1);
            String documented = rows.group(2);
            if (!documented.matches("[a-z0-9./:-]+") || documented.equals("unset") || documented.equals("none")) continue;
            // the other acme-* keys are errors without acme-directory
            String base = "[emperor]\n" + (key.startsWith("acme-") ? "acme-directory = https://acme.example/dir\n" : "");
            EmperorConfig empty = EmperorConfig.load(Files.writeString(dir.resolve("emperor.ini"), base));
            EmperorConfig explicit = EmperorConfig.load(Files.writeString(dir.resolve("emperor.ini"),
                    base + key + " = " + documented + "\n"));
            for (var component : EmperorConfig.class.getRecordComponents()) {
                assertThat(component.getAccessor().invoke(explicit))
                        .as("%s = %s (the documented default) changes %s", key, documented, component.getName())
                        .isEqualTo(component.getAccessor().invoke(empty));
            }
            checked++;
        }
        assertThat(checked).as("emperor.ini keys with a literal default").isGreaterThanOrEqualTo(20);
    }

    @Test
    void configReferenceRecordsWhyNotIni4j() throws IOException {
        assertThat(Files.readString(CONFIG_MD)).contains("Why not ini4j", "CVE-2022-41404", "2015");
    }

    @Test
    void configReferenceExampleLoads() throws Exception {
        List<String> blocks = codeBlocks(Files.readString(CONFIG_MD), "ini");
        assertThat(blocks).isNotEmpty();
        for (String block : blocks) {
            EmperorConfig.load(Files.writeString(dir.resolve("emperor.ini"), block));
        }
    }

    @Test
    void exampleVassalsLoad() throws Exception {
        TestHost host = new TestHost(dir);
        VassalConfig hello = VassalFiles.load(REPO.resolve("vassals/examples/hello.ini"), host.env);
        assertThat(hello.name()).isEqualTo("hello");
        assertThat(hello.argv()).startsWith("python3", "-m", "http.server");
        assertThat(hello.distro()).isEqualTo("bookworm");

        VassalConfig worker = VassalFiles.load(REPO.resolve("vassals/examples/worker.json"), host.env);
        assertThat(worker.name()).isEqualTo("worker");
        assertThat(worker.argv()).hasSize(3).startsWith("sh", "-c");
        assertThat(worker.distro()).isEqualTo("bookworm");
    }

    @Test
    void everyExampleFileIsAVassal() throws Exception {
        TestHost host = new TestHost(dir);
        try (var files = Files.list(REPO.resolve("vassals/examples"))) {
            for (Path file : files.toList()) {
                assertThat(VassalFiles.tenantName(file)).as(file.toString()).isPresent();
                VassalFiles.load(file, host.env);
            }
        }
    }
}
