package dev.emperor.supervisor.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What `emperor logs` prints of a line: no byte of a tenant's may drive the operator's terminal. */
class LogsCommandTest {

    @Test
    void escapeSequencesCarriageReturnsAndBellsAreShownNotObeyed() {
        assertThat(LogsCommand.printable("\u001b]0;owned\u0007\u001b[2Jx\r[emperor fake"))
                .isEqualTo("\\x1b]0;owned\\x07\\x1b[2Jx\\x0d[emperor fake");
    }

    @Test
    void c1ControlsAndDeleteAreEscapedToo() {
        assertThat(LogsCommand.printable("a\u009b31mb\u007fc")).isEqualTo("a\\x9b31mb\\x7fc");
    }

    @Test
    void ordinaryTextTabsAndNonAsciiStayAsTheyAre() {
        String line = "größe\tτιμή 100 € — ok";
        assertThat(LogsCommand.printable(line)).isSameAs(line);
    }
}
