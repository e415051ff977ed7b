package dev.emperor.supervisor.shell;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ShellProtocolTest {
    private static ShellProtocol.Request parse(byte[] frame, int fds) throws ShellProtocol.BadFrame {
        return ShellProtocol.request(ShellProtocol.frame(frame, frame.length), fds);
    }

    @Test
    void terminalRequestRoundTrips() throws Exception {
        assertThat(parse(ShellProtocol.terminal(50, 132, "xterm-256color", "shop"), 0))
                .isEqualTo(new ShellProtocol.Terminal(50, 132, "xterm-256color", "shop"));
    }

    @Test
    void emptyTermBecomesDumbAndEmptyTenantMeansTheCallersOwn() throws Exception {
        assertThat(parse(ShellProtocol.terminal(0, 0, "", ""), 0)).isEqualTo(new ShellProtocol.Terminal(0, 0, "dumb", ""));
    }

    @Test
    void commandRequestKeepsTheCommandAsIs() throws Exception {
        String cmd = "rsync --server -vlogDtpre.iLsfxCIvu . 'a b'; echo \"$HOME\"";
        assertThat(parse(ShellProtocol.command("shop", cmd), 3)).isEqualTo(new ShellProtocol.Command("shop", cmd, 0, 0, 0, "dumb"));
    }

    @Test
    void aCommandWithTerminalsCarriesOneFdPerOtherStream() throws Exception {
        // stdout and stderr are the caller's terminal (`cmd | emperor shell NAME`): one fd, stdin's
        byte[] frame = withTerminals(ShellProtocol.command("shop", "cat"), 6, 40, 120, "xterm");
        assertThat(parse(frame, 1)).isEqualTo(new ShellProtocol.Command("shop", "cat", 6, 40, 120, "xterm"));
        assertThatThrownBy(() -> parse(frame, 3)).hasMessageContaining("carries 1 fds, not 3");
        assertThat(parse(withTerminals(ShellProtocol.command("shop", "vi"), 7, 24, 80, "xterm"), 0))
                .isEqualTo(new ShellProtocol.Command("shop", "vi", 7, 24, 80, "xterm"));
        assertThatThrownBy(() -> parse(withTerminals(ShellProtocol.command("shop", "ls"), 8, 24, 80, "xterm"), 0))
                .hasMessageContaining("terminal mask 8");
        assertThatThrownBy(() -> parse(withTerminals(ShellProtocol.command("shop", "ls"), 1, 60000, 80, "xterm"), 2))
                .hasMessageContaining("window size");
    }

    /** The frame of ShellProtocol.command with its terminal fields (the last 7 bytes) replaced. */
    private static byte[] withTerminals(byte[] frame, int mask, int rows, int cols, String term) {
        byte[] t = term.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer body = java.nio.ByteBuffer.allocate(frame.length - 8 - 7 + 7 + t.length);
        body.put(frame, 8, frame.length - 8 - 7).put((byte) mask).putShort((short) rows).putShort((short) cols)
                .putShort((short) t.length).put(t);
        return ShellProtocol.frame(ShellProtocol.COMMAND, body.array());
    }

    @Test
    void aCommandNeedsExactlyThreeFdsAndATerminalNone() {
        assertThatThrownBy(() -> parse(ShellProtocol.command("shop", "ls"), 2)).hasMessageContaining("3 fds");
        assertThatThrownBy(() -> parse(ShellProtocol.terminal(24, 80, "xterm", "shop"), 1)).hasMessageContaining("no fds");
    }

    @Test
    void hostileValuesAreRefused() {
        assertThatThrownBy(() -> parse(ShellProtocol.terminal(24, 80, "xterm;rm -rf", "shop"), 0)).hasMessageContaining("TERM");
        assertThatThrownBy(() -> parse(ShellProtocol.terminal(65535, 80, "xterm", "shop"), 0)).hasMessageContaining("window size");
        assertThatThrownBy(() -> parse(ShellProtocol.terminal(24, 80, "xterm", "../etc"), 0)).hasMessageContaining("tenant name");
        assertThatThrownBy(() -> parse(ShellProtocol.command("shop", "a\0b"), 3)).hasMessageContaining("NUL");
    }

    @Test
    void headerMistakesAreRefused() {
        byte[] ok = ShellProtocol.terminal(24, 80, "xterm", "shop");
        byte[] version = ok.clone();
        version[2] = 1; // the previous protocol, whose COMMAND passed a terminal as is
        assertThatThrownBy(() -> parse(version, 0)).hasMessageContaining("version 1 (this emperor speaks 2)");
        byte[] magic = ok.clone();
        magic[0] = 'X';
        assertThatThrownBy(() -> parse(magic, 0)).hasMessageContaining("not an emperor-shell frame");
        assertThatThrownBy(() -> ShellProtocol.frame(ok, ok.length - 1)).hasMessageContaining("frame length");
        assertThatThrownBy(() -> ShellProtocol.frame(ok, 5)).hasMessageContaining("short frame");
        byte[] trailing = Arrays.copyOf(ok, ok.length + 1);
        ByteBuffer.wrap(trailing).putInt(4, ok.length + 1 - ShellProtocol.HEADER);
        assertThatThrownBy(() -> parse(trailing, 0)).hasMessageContaining("trailing");
        byte[] unknown = ShellProtocol.frame(7, new byte[0]);
        assertThatThrownBy(() -> parse(unknown, 0)).hasMessageContaining("type 7");
    }

    @Test
    void onlyHarmlessSignalsAreForwarded() throws Exception {
        assertThat(ShellProtocol.signal(ShellProtocol.frame(ShellProtocol.frame(3, new byte[] {2}), 9), 0)).isEqualTo(2);
        byte[] kill = ShellProtocol.frame(3, new byte[] {9});
        assertThatThrownBy(() -> ShellProtocol.signal(ShellProtocol.frame(kill, kill.length), 0)).hasMessageContaining("signal 9");
    }

    @Test
    void randomBytesNeverGetPastTheChecksUnnoticed() {
        Random random = new Random(42);
        for (int i = 0; i < 20_000; i++) {
            byte[] frame = ShellProtocol.terminal(24, 80, "xterm", "shop");
            if (random.nextBoolean()) frame = ShellProtocol.command("shop", "ls -l");
            int flips = 1 + random.nextInt(4);
            for (int f = 0; f < flips; f++) frame[random.nextInt(frame.length)] = (byte) random.nextInt(256);
            byte[] mutated = frame;
            int length = random.nextInt(frame.length + 1);
            try {
                ShellProtocol.Request r = ShellProtocol.request(ShellProtocol.frame(mutated, length), random.nextInt(4));
                assertThat(r.tenant()).matches("[a-z0-9_-]*");
            } catch (ShellProtocol.BadFrame expected) {
                // refused with a message: what a hostile client gets
            }
        }
    }
}
