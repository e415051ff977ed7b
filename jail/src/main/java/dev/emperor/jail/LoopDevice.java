package dev.emperor.jail;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Attaches a filesystem image to a loop device with the kernel's own calls (no losetup):
 * {@code LOOP_CTL_GET_FREE} on /dev/loop-control, then {@code LOOP_CONFIGURE} on the free
 * device with {@code LO_FLAGS_AUTOCLEAR}, so the device detaches itself when its last user
 * (the mount) goes: an unmount, or a crash of everything, never leaves a device behind.
 *
 * <p>An image is attached at most once: one that is still attached (its filesystem still
 * mounted somewhere, e.g. lazily unmounted while a tenant's last process dies) is found
 * through sysfs and its device is used again, because two devices on one image would give
 * two independent ext4 mounts of the same blocks, which corrupts it.
 */
final class LoopDevice {
    // linux/loop.h
    private static final long LOOP_CTL_GET_FREE = 0x4C82;
    private static final long LOOP_CONFIGURE = 0x4C0A;
    private static final int LO_FLAGS_AUTOCLEAR = 4;
    private static final int LO_FLAGS_DIRECT_IO = 16;
    /** struct loop_config: fd, block_size, struct loop_info64 (232 bytes), 8 reserved u64. */
    private static final int LOOP_CONFIG_SIZE = 4 + 4 + 232 + 64;
    private static final int LO_FLAGS_OFFSET = 8 + 52;
    private static final int LO_FILE_NAME_OFFSET = 8 + 56;
    private static final int LO_NAME_SIZE = 64;
    private static final int EBUSY = 16;
    private static final int EINVAL = 22;

    private static final Path SYS_BLOCK = Path.of("/sys/block");

    private LoopDevice() {}

    /**
     * An open loop device holding the image. The caller mounts {@link #device()} and then
     * closes this: with autoclear, the device detaches when its last opener goes, so it must
     * stay open until the mount holds it.
     */
    record Attached(String device, int fd) implements AutoCloseable {
        @Override
        public void close() {
            LibC.closeQuietly(fd);
        }
    }

    /** The device the image is attached to, attaching it to a free one if none is. */
    static Attached attach(Path image) {
        Optional<Attached> existing = openAttached(image);
        if (existing.isPresent()) return existing.get();
        LibC libc = LibC.INSTANCE;
        int file;
        try {
            file = libc.open(image.toString(), LibC.O_RDWR | LibC.O_CLOEXEC | LibC.O_NOFOLLOW, 0);
        } catch (LastErrorException e) {
            throw LibC.failure("open disk image", image.toString(), e);
        }
        try {
            // Another process (losetup, another tenant's spawn) may take the free device
            // between GET_FREE and CONFIGURE: it then answers EBUSY and we ask again.
            for (int attempt = 0; ; attempt++) {
                String device = "/dev/loop" + freeDeviceNumber();
                int loop = open(device);
                try {
                    configure(loop, file, image);
                    return new Attached(device, loop);
                } catch (LastErrorException e) {
                    LibC.closeQuietly(loop);
                    if (e.getErrorCode() != EBUSY || attempt >= 20) {
                        throw LibC.failure("attach disk image", image + " to " + device, e);
                    }
                }
            }
        } finally {
            LibC.closeQuietly(file);
        }
    }

    /** The device already holding the image, opened, if it still holds it once open. */
    private static Optional<Attached> openAttached(Path image) {
        Optional<String> device = findAttached(image);
        if (device.isEmpty()) return Optional.empty();
        int loop;
        try {
            loop = open(device.get());
        } catch (JailException e) {
            return Optional.empty(); // detached meanwhile
        }
        if (device.equals(findAttached(image))) return Optional.of(new Attached(device.get(), loop));
        LibC.closeQuietly(loop);
        return Optional.empty();
    }

    private static int open(String device) {
        try {
            return LibC.INSTANCE.open(device, LibC.O_RDWR | LibC.O_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw LibC.failure("open", device, e);
        }
    }

    /** The loop device whose backing file is this image, if one is attached. */
    static Optional<String> findAttached(Path image) {
        String wanted = image.toAbsolutePath().normalize().toString();
        try (DirectoryStream<Path> devices = Files.newDirectoryStream(SYS_BLOCK, "loop*")) {
            for (Path device : devices) {
                Path backing = device.resolve("loop/backing_file");
                try {
                    if (Files.readString(backing, StandardCharsets.UTF_8).strip().equals(wanted)) {
                        return Optional.of("/dev/" + device.getFileName());
                    }
                } catch (IOException e) {
                    // not attached (no loop/ directory) or detached meanwhile
                }
            }
        } catch (IOException e) {
            throw new JailException("list loop devices", SYS_BLOCK + ": " + e.getMessage(), e);
        }
        return Optional.empty();
    }

    private static int freeDeviceNumber() {
        int control;
        try {
            control = LibC.INSTANCE.open("/dev/loop-control", LibC.O_RDWR | LibC.O_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw LibC.failure("open", "/dev/loop-control", e);
        }
        try {
            return LibC.INSTANCE.ioctl(control, LOOP_CTL_GET_FREE, 0L);
        } catch (LastErrorException e) {
            throw LibC.failure("LOOP_CTL_GET_FREE", "/dev/loop-control", e);
        } finally {
            LibC.closeQuietly(control);
        }
    }

    /**
     * LOOP_CONFIGURE with autoclear and direct I/O (the image's pages are cached once, in the
     * tenant's filesystem, not a second time as pages of the image file); a host filesystem
     * that cannot do direct I/O on the image gets buffered I/O instead.
     */
    private static void configure(int loop, int file, Path image) {
        try (Memory config = new Memory(LOOP_CONFIG_SIZE)) {
            config.clear();
            config.setInt(0, file);
            byte[] name = image.toString().getBytes(StandardCharsets.UTF_8);
            config.write(LO_FILE_NAME_OFFSET, name, 0, Math.min(name.length, LO_NAME_SIZE - 1));
            config.setInt(LO_FLAGS_OFFSET, LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO);
            try {
                LibC.INSTANCE.ioctl(loop, LOOP_CONFIGURE, config);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != EINVAL) throw e;
                config.setInt(LO_FLAGS_OFFSET, LO_FLAGS_AUTOCLEAR);
                LibC.INSTANCE.ioctl(loop, LOOP_CONFIGURE, config);
            }
        }
    }
}
