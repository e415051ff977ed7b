package dev.emperor.supervisor.shell;

import dev.emperor.supervisor.config.VassalFiles;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The frames spoken on the shell socket between {@code emperor-shell} (the client sshd's
 * ForceCommand runs, {@code supervisor/src/main/c/emperor-shell.c}) and the emperor. The
 * socket is SOCK_SEQPACKET: one frame is one message, and file descriptors travel with it
 * as SCM_RIGHTS.
 *
 * <pre>
 * frame   = 'E' 'S' VERSION(1) TYPE  LENGTH(u32, of the body)  BODY
 * string  = u16 length, UTF-8 bytes             (integers are big-endian)
 *
 * client -> emperor
 *   TERMINAL (1)  u16 rows, u16 cols, string TERM, string tenant     no fds
 *   COMMAND  (2)  string tenant, u32 length, command bytes,
 *                 u8 terminals, u16 rows, u16 cols, string TERM      one fd per std stream that is not a terminal
 *                 (terminals: bit i set = the client's fd i is a terminal; those get the slave of a pty made
 *                 in the tenant, whose master comes back with STARTED; the other streams' fds come in order)
 *   SIGNAL   (3)  u8 signal (INT QUIT TERM USR1 USR2 only)           no fds; only once started
 * emperor -> client
 *   STARTED  (0x81)  empty; with TERMINAL or a COMMAND with terminals, the pty master as 1 fd
 *   EXIT     (0x82)  u8 exit code (128+N for signal N)
 *   ERROR    (0x83)  string message; the connection ends
 * </pre>
 *
 * An empty tenant name means "the tenant whose uid I am"; an empty command runs the login
 * shell without a terminal (plain {@code ssh -T host}). Everything a client sends is checked
 * here, since any local user may connect: a frame that fails a check ends the session.
 */
public final class ShellProtocol {
    public static final int VERSION = 2;
    public static final int HEADER = 8;
    /** A whole frame, header included: what one recvmsg accepts. */
    public static final int MAX_FRAME = 64 * 1024;

    public static final int TERMINAL = 1;
    public static final int COMMAND = 2;
    public static final int SIGNAL = 3;
    public static final int STARTED = 0x81;
    public static final int EXIT = 0x82;
    public static final int ERROR = 0x83;

    /** Signals a client may ask for; others (KILL, STOP, ...) are the emperor's to send. */
    public static final Set<Integer> FORWARDED_SIGNALS = Set.of(2, 3, 15, 10, 12);

    private static final Pattern TERM = Pattern.compile("[A-Za-z0-9._+-]{1,64}");
    private static final int MAX_SIZE = 10_000;

    private ShellProtocol() {}

    /** A frame the client got wrong; the message says what, for the client's error line. */
    public static final class BadFrame extends Exception {
        public BadFrame(String message) {
            super(message);
        }
    }

    /** The first frame of a session. */
    public sealed interface Request permits Terminal, Command {
        /** The tenant asked for; empty = the caller's own. */
        String tenant();
    }

    /** A login shell on a new terminal of the given size (0 = unknown). */
    public record Terminal(int rows, int cols, String term, String tenant) implements Request {}

    /**
     * A command (empty = login shell); the std streams whose bit is set in terminals get a new
     * pty of rows x cols, the others the fds that came with the frame.
     */
    public record Command(String tenant, String command, int terminals, int rows, int cols, String term)
            implements Request {}

    /** The frame's type and body, after the header is checked. */
    public record Frame(int type, ByteBuffer body) {}

    /** Checks the header of one received message (n bytes of buf) and returns its body. */
    public static Frame frame(byte[] buf, int n) throws BadFrame {
        if (n < HEADER) throw new BadFrame("short frame (" + n + " bytes)");
        if (buf[0] != 'E' || buf[1] != 'S') throw new BadFrame("not an emperor-shell frame");
        if ((buf[2] & 0xff) != VERSION) {
            throw new BadFrame("protocol version " + (buf[2] & 0xff) + " (this emperor speaks " + VERSION + ")");
        }
        ByteBuffer b = ByteBuffer.wrap(buf, 0, n);
        long length = Integer.toUnsignedLong(b.getInt(4));
        if (length != n - HEADER) throw new BadFrame("frame length " + length + " but " + (n - HEADER) + " bytes");
        return new Frame(buf[3] & 0xff, ByteBuffer.wrap(buf, HEADER, n - HEADER).slice());
    }

    /** The session's first frame; fds is how many descriptors came with it. */
    public static Request request(Frame frame, int fds) throws BadFrame {
        ByteBuffer b = frame.body();
        try {
            Request request = switch (frame.type()) {
                case TERMINAL -> {
                    int rows = Short.toUnsignedInt(b.getShort());
                    int cols = Short.toUnsignedInt(b.getShort());
                    if (rows > MAX_SIZE || cols > MAX_SIZE) throw new BadFrame("window size " + rows + "x" + cols);
                    String term = string(b, "TERM");
                    if (term.isEmpty()) term = "dumb";
                    if (!TERM.matcher(term).matches()) throw new BadFrame("bad TERM");
                    if (fds != 0) throw new BadFrame("a terminal request carries no fds");
                    yield new Terminal(rows, cols, term, tenant(b));
                }
                case COMMAND -> {
                    String tenant = tenant(b);
                    int length = b.getInt();
                    if (length < 0 || length > b.remaining()) throw new BadFrame("command length " + length);
                    byte[] bytes = new byte[length];
                    b.get(bytes);
                    String command = utf8(bytes, "command");
                    if (command.indexOf('\0') >= 0) throw new BadFrame("NUL in command");
                    int terminals = Byte.toUnsignedInt(b.get());
                    if (terminals > 7) throw new BadFrame("terminal mask " + terminals);
                    int rows = Short.toUnsignedInt(b.getShort());
                    int cols = Short.toUnsignedInt(b.getShort());
                    if (rows > MAX_SIZE || cols > MAX_SIZE) throw new BadFrame("window size " + rows + "x" + cols);
                    String term = string(b, "TERM");
                    if (term.isEmpty()) term = "dumb";
                    if (!TERM.matcher(term).matches()) throw new BadFrame("bad TERM");
                    int streams = 3 - Integer.bitCount(terminals);
                    if (fds != streams) throw new BadFrame("a command request carries " + streams + " fds, not " + fds);
                    yield new Command(tenant, command, terminals, rows, cols, term);
                }
                default -> throw new BadFrame("unexpected frame type " + frame.type());
            };
            if (b.hasRemaining()) throw new BadFrame("trailing bytes in frame");
            return request;
        } catch (BufferUnderflowException e) {
            throw new BadFrame("truncated frame");
        }
    }

    /** A SIGNAL frame's signal number, checked against {@link #FORWARDED_SIGNALS}. */
    public static int signal(Frame frame, int fds) throws BadFrame {
        if (frame.type() != SIGNAL) throw new BadFrame("unexpected frame type " + frame.type());
        if (fds != 0) throw new BadFrame("a signal carries no fds");
        if (frame.body().remaining() != 1) throw new BadFrame("bad signal frame");
        int sig = Byte.toUnsignedInt(frame.body().get());
        if (!FORWARDED_SIGNALS.contains(sig)) throw new BadFrame("signal " + sig + " is not forwarded");
        return sig;
    }

    public static byte[] started() {
        return frame(STARTED, new byte[0]);
    }

    public static byte[] exit(int code) {
        return frame(EXIT, new byte[] {(byte) code});
    }

    public static byte[] error(String message) {
        byte[] text = message.getBytes(StandardCharsets.UTF_8);
        int length = Math.min(text.length, 4000);
        ByteBuffer b = ByteBuffer.allocate(2 + length).putShort((short) length).put(text, 0, length);
        return frame(ERROR, b.array());
    }

    /** A client's frame, for tests (the real client is C). */
    public static byte[] terminal(int rows, int cols, String term, String tenant) {
        byte[] t = term.getBytes(StandardCharsets.UTF_8);
        byte[] n = tenant.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + t.length + n.length).putShort((short) rows).putShort((short) cols)
                .putShort((short) t.length).put(t).putShort((short) n.length).put(n);
        return frame(TERMINAL, b.array());
    }

    /** A client's frame with no terminal (3 fds go with it), for tests. */
    public static byte[] command(String tenant, String command) {
        byte[] n = tenant.getBytes(StandardCharsets.UTF_8);
        byte[] c = command.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(13 + n.length + c.length).putShort((short) n.length).put(n)
                .putInt(c.length).put(c).put((byte) 0).putShort((short) 0).putShort((short) 0).putShort((short) 0);
        return frame(COMMAND, b.array());
    }

    static byte[] frame(int type, byte[] body) {
        return ByteBuffer.allocate(HEADER + body.length).put((byte) 'E').put((byte) 'S').put((byte) VERSION)
                .put((byte) type).putInt(body.length).put(body).array();
    }

    private static String tenant(ByteBuffer b) throws BadFrame {
        String name = string(b, "tenant name");
        if (!name.isEmpty() && !VassalFiles.TENANT_NAME.matcher(name).matches()) throw new BadFrame("bad tenant name");
        return name;
    }

    private static String string(ByteBuffer b, String what) throws BadFrame {
        int length = Short.toUnsignedInt(b.getShort());
        if (length > b.remaining()) throw new BadFrame(what + " length " + length);
        byte[] bytes = new byte[length];
        b.get(bytes);
        return utf8(bytes, what);
    }

    private static String utf8(byte[] bytes, String what) throws BadFrame {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new BadFrame(what + " is not UTF-8");
        }
    }
}
