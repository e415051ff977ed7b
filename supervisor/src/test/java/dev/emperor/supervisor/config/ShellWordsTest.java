package dev.emperor.supervisor.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ShellWordsTest {

    @Test
    void wordsAreSeparatedByRunsOfBlanks() {
        assertThat(ShellWords.split("  python3 \t -m   http.server 8080 ")).containsExactly("python3", "-m", "http.server", "8080");
    }

    @Test
    void singleQuotesKeepEverythingLiterally() {
        assertThat(ShellWords.split("sh -c 'echo \"$HOME\" \\ ; ls *'")).containsExactly("sh", "-c", "echo \"$HOME\" \\ ; ls *");
    }

    @Test
    void doubleQuotesHonourBackslashBeforeQuoteBackslashDollarAndBacktick() {
        assertThat(ShellWords.split("echo \"a \\\"b\\\" \\\\ \\$x \\`y\\` \\n\""))
                .containsExactly("echo", "a \"b\" \\ $x `y` \\n");
    }

    @Test
    void backslashOutsideQuotesEscapesTheNextCharacter() {
        assertThat(ShellWords.split("a\\ b c\\'d \\\\")).containsExactly("a b", "c'd", "\\");
    }

    @Test
    void quotedPartsJoinTheirNeighbours() {
        assertThat(ShellWords.split("a'b c'd\"e f\"g")).containsExactly("ab cde fg");
    }

    @Test
    void emptyQuotesAreAnEmptyWord() {
        assertThat(ShellWords.split("prog '' \"\" x")).containsExactly("prog", "", "", "x");
    }

    @Test
    void noExpansionNoGlobbingNoComments() {
        assertThat(ShellWords.split("echo $HOME * ~ # not a comment; ls"))
                .containsExactly("echo", "$HOME", "*", "~", "#", "not", "a", "comment;", "ls");
    }

    @Test
    void blankInputHasNoWords() {
        assertThat(ShellWords.split("   ")).isEmpty();
    }

    @Test
    void unterminatedQuotesNameTheirColumn() {
        assertThatThrownBy(() -> ShellWords.split("sh -c 'echo")).hasMessage("unterminated single quote at column 7");
        assertThatThrownBy(() -> ShellWords.split("echo \"a\\\"")).hasMessage("unterminated double quote at column 6");
    }

    @Test
    void aTrailingBackslashIsAnError() {
        assertThatThrownBy(() -> ShellWords.split("echo a\\")).hasMessage("trailing backslash at column 7");
    }
}
