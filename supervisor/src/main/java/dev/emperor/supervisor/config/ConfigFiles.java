package dev.emperor.supervisor.config;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Reading and decoding shared by the INI and JSON readers. */
final class ConfigFiles {

    /** Largest file accepted, for INI and JSON alike. */
    static final int MAX_FILE_BYTES = 1 << 20;

    private ConfigFiles() {}

    /** Reads a vassal file: a regular file, never through a link, at most {@link #MAX_FILE_BYTES} (see {@link UntrustedFile}). */
    static byte[] read(Path file) throws ConfigError {
        return read(file, file);
    }

    /** Reads emperor.ini: the operator's own file, which may be a link (config management does that). */
    static byte[] readFollowingLinks(Path file) throws ConfigError {
        Path real;
        try {
            real = file.toRealPath();
        } catch (IOException e) {
            throw new ConfigError(file, "cannot read: " + describe(e));
        }
        return read(file, real);
    }

    private static byte[] read(Path named, Path file) throws ConfigError {
        try {
            return UntrustedFile.read(file, MAX_FILE_BYTES);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new ConfigError(named, "cannot read: no such file");
        } catch (IOException e) {
            String why = describe(e);
            boolean refusal = why.startsWith("is ") || why.startsWith("not ") || why.startsWith("file ");
            throw new ConfigError(named, refusal ? why : "cannot read: " + why);
        }
    }

    static String describe(IOException e) {
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file";
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    /** Strict UTF-8 decoding; NUL bytes and malformed sequences are refused with their line. */
    static String decode(Path file, byte[] content) throws ConfigError {
        if (content.length > MAX_FILE_BYTES) {
            throw tooLarge(file);
        }
        for (int i = 0; i < content.length; i++) {
            if (content[i] == 0) {
                throw new ConfigError(file, lineOf(content, i), null, "NUL byte in file");
            }
        }
        int offset = content.length >= 3 && (content[0] & 0xff) == 0xef
                && (content[1] & 0xff) == 0xbb && (content[2] & 0xff) == 0xbf ? 3 : 0;
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(content, offset, content.length - offset);
        CharBuffer out = CharBuffer.allocate(content.length);
        CoderResult result = decoder.decode(in, out, true);
        if (result.isError()) {
            throw new ConfigError(file, lineOf(content, in.position()), null,
                    "invalid UTF-8 at byte " + in.position());
        }
        decoder.flush(out);
        return out.flip().toString();
    }

    private static ConfigError tooLarge(Path file) {
        return new ConfigError(file, "file is larger than 1 MiB");
    }

    private static int lineOf(byte[] content, int position) {
        int line = 1;
        for (int i = 0; i < position && i < content.length; i++) {
            if (content[i] == '\n') {
                line++;
            }
        }
        return line;
    }
}
