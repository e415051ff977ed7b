package dev.emperor.supervisor.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IniParserTest {
    private static final Path FILE = Path.of("/etc/emperor/vassals/t.ini");

    private static IniDocument parse(String text) throws ConfigError {
        return IniParser.parse(FILE, text.getBytes(StandardCharsets.UTF_8));
    }

    private static ConfigError failure(byte[] content) {
        try {
            IniParser.parse(FILE, content);
        } catch (ConfigError e) {
            return e;
        }
        throw new AssertionError("expected a ConfigError");
    }

    private static ConfigError failure(String text) {
        return failure(text.getBytes(StandardCharsets.UTF_8));
    }

    private static IniDocument.Entry entry(String key, String value, int line) {
        return new IniDocument.Entry(key, value, line);
    }

    @Test
    void keysAndValuesAreTrimmedOfSpacesTabsAndCarriageReturns() throws ConfigError {
        IniDocument doc = parse("[vassal]\r\n  exec \t=\t python3 -m http.server  \r\n");
        assertThat(doc.entries("vassal")).containsExactly(entry("exec", "python3 -m http.server", 2));
    }

    @Test
    void commentsStartWithSemicolonOrHashAtTheStartOfALine() throws ConfigError {
        IniDocument doc = parse("; top comment\n[vassal]\n# hash comment\n   ; indented comment\nexec = x\n");
        assertThat(doc.entries("vassal")).containsExactly(entry("exec", "x", 5));
    }

    @Test
    void semicolonAndHashInsideAValueArePartOfTheValue() throws ConfigError {
        IniDocument doc = parse("[vassal]\nexec = sh -c 'a; b' # not a comment\nenv = URL=http://h/#frag;x\n");
        assertThat(doc.entries("vassal")).containsExactly(
                entry("exec", "sh -c 'a; b' # not a comment", 2),
                entry("env", "URL=http://h/#frag;x", 3));
    }

    @Test
    void repeatedKeysAreAllKeptInOrder() throws ConfigError {
        IniDocument doc = parse("[vassal]\nenv = A=1\nexec = x\nenv = B=2\nenv = A=3\n");
        assertThat(doc.entries("vassal")).extracting(IniDocument.Entry::value)
                .containsExactly("A=1", "x", "B=2", "A=3");
    }

    @Test
    void theValueRunsFromTheFirstEqualsSign() throws ConfigError {
        IniDocument doc = parse("[vassal]\nenv = A=B=C\n");
        assertThat(doc.entries("vassal")).containsExactly(entry("env", "A=B=C", 2));
    }

    @Test
    void quotesAndBackslashesAreKeptLiterally() throws ConfigError {
        IniDocument doc = parse("[vassal]\nenv = \"A=\\n\\\"x\" \n");
        assertThat(doc.entries("vassal")).containsExactly(entry("env", "\"A=\\n\\\"x\"", 2));
    }

    @Test
    void anEmptyValueIsAllowedByTheParser() throws ConfigError {
        assertThat(parse("[s]\nkey =\n").entries("s")).containsExactly(entry("key", "", 2));
    }

    @Test
    void aRepeatedSectionContinuesTheFirstOne() throws ConfigError {
        IniDocument doc = parse("[a]\nx = 1\n[b]\ny = 2\n[a]\nz = 3\n");
        assertThat(doc.sectionNames()).containsExactly("a", "b");
        assertThat(doc.sectionLine("a")).isEqualTo(1);
        assertThat(doc.sectionLine("b")).isEqualTo(3);
        assertThat(doc.entries("a")).containsExactly(entry("x", "1", 2), entry("z", "3", 6));
    }

    @Test
    void sectionNamesAreTrimmedAndMayBeEmptyOfEntries() throws ConfigError {
        IniDocument doc = parse("[ vassal ]\n");
        assertThat(doc.hasSection("vassal")).isTrue();
        assertThat(doc.entries("vassal")).isEmpty();
        assertThat(doc.entries("missing")).isEmpty();
        assertThat(doc.sectionLine("missing")).isZero();
    }

    @Test
    void theLastLineNeedsNoNewline() throws ConfigError {
        assertThat(parse("[s]\nk = v").entries("s")).containsExactly(entry("k", "v", 2));
    }

    @Test
    void blankLinesCountForLineNumbers() throws ConfigError {
        assertThat(parse("\n\n[s]\n\n\t\nk = v\n").entries("s")).containsExactly(entry("k", "v", 6));
    }

    @Test
    void aLeadingByteOrderMarkIsSkipped() throws ConfigError {
        assertThat(parse("\uFEFF[s]\nk = v\n").sectionNames()).containsExactly("s");
    }

    @Test
    void emptyFileHasNoSections() throws ConfigError {
        assertThat(parse("").sectionNames()).isEmpty();
        assertThat(parse("; only a comment\n").sectionNames()).isEmpty();
    }

    @Test
    void nonAsciiTextIsKept() throws ConfigError {
        assertThat(parse("[s]\nk = héllo wörld ☃\n").entries("s").get(0).value()).isEqualTo("héllo wörld ☃");
    }

    @Test
    void aKeyOutsideAnySectionIsAnErrorNamingLineAndKey() {
        assertThat(failure("; c\nexec = x\n[vassal]\n").getMessage())
                .isEqualTo("/etc/emperor/vassals/t.ini:2: exec: key outside any section (put a [section] header above it)");
    }

    @Test
    void aLineWithoutEqualsIsAnError() {
        ConfigError e = failure("[vassal]\nexec = x\njust words\n");
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.key()).isNull();
        assertThat(e.getMessage()).startsWith("/etc/emperor/vassals/t.ini:3: expected 'key = value'");
    }

    @Test
    void anUnterminatedSectionHeaderIsAnError() {
        ConfigError e = failure("[vassal\nexec = x\n");
        assertThat(e.line()).isEqualTo(1);
        assertThat(e.problem()).startsWith("unterminated section header");
    }

    @Test
    void aTrailingCommentAfterASectionHeaderIsAnError() {
        assertThat(failure("[vassal] ; main\n").problem()).contains("comments must be on a line of their own");
    }

    @Test
    void anEmptySectionNameIsAnError() {
        assertThat(failure("[ ]\n").getMessage()).isEqualTo("/etc/emperor/vassals/t.ini:1: empty section name");
    }

    @Test
    void bracketsInsideASectionNameAreAnError() {
        assertThat(failure("[a]b]\n").problem()).contains("may not contain");
    }

    @Test
    void anEmptyKeyIsAnError() {
        assertThat(failure("[s]\n = value\n").getMessage()).isEqualTo("/etc/emperor/vassals/t.ini:2: empty key before '='");
    }

    @Test
    void aNulByteIsAnErrorOnItsLine() {
        ConfigError e = failure("[s]\nk = a\0b\n".getBytes(StandardCharsets.UTF_8));
        assertThat(e.getMessage()).isEqualTo("/etc/emperor/vassals/t.ini:2: NUL byte in file");
    }

    @Test
    void invalidUtf8IsAnErrorOnItsLine() {
        byte[] content = {'[', 's', ']', '\n', 'k', '=', (byte) 0xc3, '(', '\n'};
        assertThat(failure(content).getMessage()).isEqualTo("/etc/emperor/vassals/t.ini:2: invalid UTF-8 at byte 6");
    }

    @Test
    void encodedSurrogatesAreInvalidUtf8() {
        byte[] content = {'[', 's', ']', '\n', 'k', '=', (byte) 0xed, (byte) 0xa0, (byte) 0x80, '\n'};
        assertThat(failure(content).problem()).startsWith("invalid UTF-8");
    }

    @Test
    void aFileOverOneMebibyteIsAnError() {
        byte[] content = new byte[IniParser.MAX_FILE_BYTES + 1];
        java.util.Arrays.fill(content, (byte) ';');
        assertThat(failure(content).getMessage()).isEqualTo("/etc/emperor/vassals/t.ini: file is larger than 1 MiB");
    }

    @Test
    void aFileOfExactlyOneMebibyteIsRead() throws ConfigError {
        byte[] content = new byte[IniParser.MAX_FILE_BYTES];
        java.util.Arrays.fill(content, (byte) '\n');
        assertThat(IniParser.parse(FILE, content).sectionNames()).isEmpty();
    }

    @Test
    void parseReadsAFileFromDisk(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("emperor.ini"), "[emperor]\nrescan = 5s\n");
        assertThat(IniParser.parse(file).entries("emperor")).containsExactly(entry("rescan", "5s", 2));
    }

    @Test
    void aMissingFileIsAnErrorNamingIt(@TempDir Path dir) {
        Path file = dir.resolve("nope.ini");
        assertThatThrownBy(() -> IniParser.parse(file))
                .isInstanceOf(ConfigError.class)
                .hasMessage(file + ": cannot read: no such file");
    }

    @Test
    void aLargeFileOnDiskIsRefusedWithoutReadingItAll(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("big.ini");
        Files.write(file, new byte[3 << 20]);
        assertThatThrownBy(() -> IniParser.parse(file)).hasMessage(file + ": file is larger than 1 MiB");
    }

    @Test
    void aDirectoryIsNotAConfigFile(@TempDir Path dir) {
        assertThatThrownBy(() -> IniParser.parse(dir)).hasMessage(dir + ": not a regular file (a directory)");
    }

    @Test
    void entriesAreImmutable() throws ConfigError {
        List<IniDocument.Entry> entries = parse("[s]\nk = v\n").entries("s");
        assertThatThrownBy(() -> entries.add(entry("x", "y", 9))).isInstanceOf(UnsupportedOperationException.class);
    }
}
