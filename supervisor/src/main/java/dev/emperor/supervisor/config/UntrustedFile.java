package dev.emperor.supervisor.config;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Reads a file from a directory that others write (the vassal directory): only a regular
 * file, never through a symbolic link, never blocking, never more than a limit.
 *
 * <p>Why each step: a FIFO named {@code x.ini} would block a plain {@code open()} for
 * reading until someone writes to it (the watcher thread hung for good); a link to
 * {@code /dev/zero} has size 0 and reads forever (the watcher ran out of heap). So the file
 * is opened with {@code O_PATH|O_NOFOLLOW} (which opens no FIFO or device for I/O and never
 * follows a link), its type and size are checked on that descriptor, and only then is the
 * same inode read through {@code /proc/self/fd/N}, at most {@code maxBytes + 1} bytes.
 */
public final class UntrustedFile {
    private static final int O_PATH = 010000000;
    private static final int O_NOFOLLOW = 0400000;
    private static final int O_CLOEXEC = 02000000;
    private static final int ENOENT = 2;

    private interface LibC extends Library {
        LibC INSTANCE = Native.load("c", LibC.class);

        int open(String path, int flags) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    private UntrustedFile() {}

    /**
     * The file's bytes.
     *
     * @throws NoSuchFileException if it does not exist
     * @throws IOException         naming why it is refused: a symbolic link, not a regular
     *                             file, larger than {@code maxBytes}, or unreadable
     */
    public static byte[] read(Path file, int maxBytes) throws IOException {
        int fd;
        try {
            fd = LibC.INSTANCE.open(file.toString(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == ENOENT) throw new NoSuchFileException(file.toString());
            throw new IOException("cannot open: errno " + e.getErrorCode());
        }
        try {
            Path held = Path.of("/proc/self/fd/" + fd);
            // stat through the magic link is fstat(fd): the inode opened above, whatever the name names now
            BasicFileAttributes attrs = Files.readAttributes(held, BasicFileAttributes.class);
            if (attrs.isSymbolicLink()) {
                throw new IOException("is a symbolic link (vassal files are read without following links)");
            }
            if (!attrs.isRegularFile()) {
                throw new IOException("not a regular file (" + (attrs.isDirectory() ? "a directory" : "a FIFO, socket or device") + ")");
            }
            if (attrs.size() > maxBytes) throw tooLarge(maxBytes);
            try (InputStream in = Files.newInputStream(held)) {
                byte[] content = in.readNBytes(maxBytes + 1); // the limit holds even if the file grows meanwhile
                if (content.length > maxBytes) throw tooLarge(maxBytes);
                return content;
            }
        } finally {
            try {
                LibC.INSTANCE.close(fd);
            } catch (LastErrorException ignored) {
                // EBADF cannot happen (we own fd); EINTR still released it on Linux
            }
        }
    }

    private static IOException tooLarge(int maxBytes) {
        return new IOException("file is larger than " + (maxBytes == 1 << 20 ? "1 MiB" : maxBytes + " bytes"));
    }
}
