package dev.emperor.jail;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The helper's error channel: a pipe whose write end the helper gets as --report-fd. On
 * failure the helper writes one line "STEP: DETAIL: strerror" and exits; the write end is
 * close-on-exec in the process that runs the payload, so end-of-file with nothing read means
 * the payload has been exec'd.
 */
final class HelperReport implements AutoCloseable {
    private static final int MAX_LINE = 4096;

    private int readFd = -1;
    private int writeFd = -1;

    HelperReport() {
        int[] fds = new int[2];
        try {
            LibC.INSTANCE.pipe2(fds, LibC.O_CLOEXEC);
        } catch (LastErrorException e) {
            throw LibC.failure("pipe2", "helper report channel", e);
        }
        readFd = fds[0];
        writeFd = fds[1];
    }

    /** The end the helper writes to. */
    int writeFd() {
        return writeFd;
    }

    /** Closes our copy of the write end (after the spawn), so EOF can arrive. */
    void closeWriteEnd() {
        LibC.closeQuietly(writeFd);
        writeFd = -1;
    }

    /**
     * Waits until the helper has exec'd the payload (returns null) or reported a failure
     * (returns its line, without the newline). After timeoutMillis, throws: a helper that
     * neither execs nor reports is broken and is killed by the caller.
     */
    String await(long timeoutMillis, String what) {
        LibC libc = LibC.INSTANCE;
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        byte[] buf = new byte[512];
        try (Memory pollfd = new Memory(8)) {
            while (true) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) throw new JailException("helper", what + ": no report within " + timeoutMillis + " ms");
                pollfd.clear();
                pollfd.setInt(0, readFd);
                pollfd.setShort(4, LibC.POLLIN);
                try {
                    if (libc.poll(pollfd, 1, (int) Math.min(left, Integer.MAX_VALUE)) == 0) continue;
                    long n = libc.read(readFd, buf, buf.length);
                    if (n == 0) break;
                    line.write(buf, 0, (int) n);
                    if (line.size() > MAX_LINE) break;
                } catch (LastErrorException e) {
                    if (e.getErrorCode() != LibC.EINTR) throw LibC.failure("read", "helper report of " + what, e);
                }
            }
        }
        if (line.size() == 0) return null;
        String text = line.toString(StandardCharsets.UTF_8);
        int newline = text.indexOf('\n');
        return newline < 0 ? text : text.substring(0, newline);
    }

    /**
     * Turns a helper's report line, "STEP DETAIL: strerror" or "STEP: DETAIL: strerror"
     * (e.g. "exec sleepy: No such file or directory"), into an exception whose step is the
     * helper's first word.
     */
    static JailException toException(String line, String what) {
        int end = 0;
        while (end < line.length() && line.charAt(end) != ' ' && line.charAt(end) != ':') end++;
        if (end == 0 || end == line.length()) return new JailException("helper", line + " (" + what + ")");
        String step = line.substring(0, end);
        String detail = line.substring(line.startsWith(": ", end) ? end + 2 : end + 1);
        return new JailException(step, detail + " (" + what + ")");
    }

    @Override
    public void close() {
        LibC.closeQuietly(readFd);
        LibC.closeQuietly(writeFd);
        readFd = writeFd = -1;
    }
}
