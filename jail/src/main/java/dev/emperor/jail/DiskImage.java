package dev.emperor.jail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.List;

/**
 * A tenant's filesystem image as a file: made with mke2fs, its limits read back, files
 * copied into a mounted one with cp -a. The host tools run as child processes of the JVM
 * (posix_spawn); {@link TenantVolume} decides when, and mounts.
 */
final class DiskImage {
    /** The inode count asked for, kept on the image: mke2fs may round it up, so it cannot be read back. */
    private static final String INODES_ATTRIBUTE = "emperor.inodes";
    /** ext4 block size: one inode per block at most (mke2fs's limit). */
    static final long BLOCK_SIZE = 4096;

    private DiskImage() {}

    /**
     * A new ext4 image: sparse, 4K blocks, exactly {@code inodes} inodes (rounded up by mke2fs
     * to whole inode-table blocks), no blocks reserved for root (the tenant is never root:
     * they would be space nobody may use). The journal stays: a host crash must not cost a
     * tenant its files. assume_storage_prezeroed: the file is new and sparse, so mke2fs
     * writes neither the inode tables nor the journal, and the kernel does not zero them
     * later in the background (664 KiB allocated for a 1G image instead of 49 MB).
     */
    static void create(Path file, long bytes, long inodes, String name) {
        // Made under FILE.part and renamed into place once complete: an emperor killed half-way
        // (before mke2fs ran, or before the inode count was written) left an unformatted image
        // under the real name, which every later spawn then failed to mount.
        Path part = file.resolveSibling(file.getFileName() + ".part");
        try {
            Files.deleteIfExists(part); // what a killed emperor left
            Files.deleteIfExists(file);
            try (var sparse = new java.io.RandomAccessFile(part.toFile(), "rw")) {
                sparse.setLength(bytes);
            }
            Files.setPosixFilePermissions(part, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException e) {
            TenantVolume.deleteQuietly(part);
            throw new JailException("create disk image of " + name, file + ": " + e, e);
        }
        try {
            run("mke2fs", name, List.of(mke2fs(), "-q", "-F", "-t", "ext4", "-b", Long.toString(BLOCK_SIZE), "-m", "0",
                    "-N", Long.toString(inodes), "-L", "emperor", "-E", "nodiscard,assume_storage_prezeroed=1",
                    part.toString()));
            UserDefinedFileAttributeView view = Files.getFileAttributeView(part, UserDefinedFileAttributeView.class);
            view.write(INODES_ATTRIBUTE, StandardCharsets.US_ASCII.encode(Long.toString(inodes)));
            Files.move(part, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            TenantVolume.deleteQuietly(part);
            throw e instanceof JailException je ? je : new JailException("create disk image of " + name, e.toString(), e);
        }
    }

    /** cp -a of a directory's content (never following the tenant's links), or a JailException saying why not. */
    static void copy(Path from, Path to, String whenFull, String name) {
        String output = run("cp", List.of("cp", "-a", from + "/.", to + "/"), whenFull);
        if (output != null) throw new JailException("copy files of " + name, output);
    }

    private static void run(String what, String name, List<String> command) {
        String failure = run(what, command, null);
        if (failure != null) throw new JailException(what + " for " + name, failure);
    }

    /** Runs a host tool; returns null on success, else its output (or {@code whenFull} if it ran out of space). */
    private static String run(String what, List<String> command, String whenFull) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            process.getOutputStream().close();
            byte[] out = process.getInputStream().readAllBytes(); // until the tool exits
            if (process.waitFor() == 0) return null;
            String text = new String(out, StandardCharsets.UTF_8).strip();
            if (whenFull != null && (text.contains("No space left") || text.contains("Disk quota"))) return whenFull;
            return String.join(" ", command) + " failed (exit " + process.exitValue() + "): " + text;
        } catch (IOException e) {
            return what + ": " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return what + ": interrupted";
        }
    }

    /** 16M, 2G or a number of bytes, as the vassal file would say it. */
    static String size(long bytes) {
        if (bytes % (1L << 30) == 0) return (bytes >> 30) + "G";
        if (bytes % (1L << 20) == 0) return (bytes >> 20) + "M";
        return bytes + " bytes";
    }

    private static String mke2fs() {
        for (String dir : List.of("/usr/sbin", "/sbin")) {
            if (Files.isExecutable(Path.of(dir, "mke2fs"))) return dir + "/mke2fs";
        }
        return "mke2fs";
    }

    static long sizeOf(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new JailException("read disk image", file + ": " + e, e);
        }
    }

    static long inodesOf(Path file) {
        try {
            UserDefinedFileAttributeView view = Files.getFileAttributeView(file, UserDefinedFileAttributeView.class);
            ByteBuffer buffer = ByteBuffer.allocate(32);
            view.read(INODES_ATTRIBUTE, buffer);
            buffer.flip();
            return Long.parseLong(StandardCharsets.US_ASCII.decode(buffer).toString());
        } catch (IOException | NumberFormatException e) {
            return -1; // unknown: rebuilt with the limits asked for
        }
    }
}
