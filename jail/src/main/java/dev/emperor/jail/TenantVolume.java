package dev.emperor.jail;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A tenant's disk: one ext4 filesystem image of a fixed size and inode count, holding
 * everything the tenant can write that outlives a process (its home and its /run), so one
 * bound covers both. Over the bound the tenant gets ENOSPC from its own filesystem; the
 * host's filesystem holds at most the image's size for it, and nobody else notices.
 *
 * <p>On the host (all in the host's mount namespace, made by the emperor):
 * <ul>
 *   <li>{@code image}: a sparse file (only what the tenant writes is allocated);
 *   <li>{@code mountPoint}: the image, mounted nosuid,nodev through a loop device that
 *       detaches itself when unmounted ({@link LoopDevice}); it holds {@code home/} and
 *       {@code run/} (owned by the tenant) and nothing the tenant can write at its top;
 *   <li>{@code homeView} and {@code runView}: bind mounts of those two directories at the
 *       paths the rest of Emperor and the host already use (HOME-DIR/NAME for sshd's
 *       authorized_keys, RUN-DIR/vassals/NAME for the front proxy's unix sockets). The jail
 *       binds them into the tenant as before.
 * </ul>
 *
 * <p>The mounts outlive the emperor (a kill -9 leaves them in place for the tenants it left
 * running); {@link #unmount} after the tenant is gone. The image is kept.
 */
public final class TenantVolume {
    private static final long EXT4_MAGIC = 0xEF53;
    private static final int MNT_DETACH = 2;
    private static final int EINVAL = 22;
    private static final int ENOENT = 2;

    private final String name;
    private final Path image;
    private final Path mountPoint;
    private final Path homeView;
    private final Path runView;

    /** How full the tenant's filesystem is (statfs of the mounted image). */
    public record Usage(long bytesUsed, long bytesFree, long inodesUsed, long inodesFree) {}

    public TenantVolume(String name, Path image, Path mountPoint, Path homeView, Path runView) {
        this.name = name;
        this.image = image;
        this.mountPoint = mountPoint;
        this.homeView = homeView;
        this.runView = runView;
    }

    public Path image() {
        return image;
    }

    public boolean imageExists() {
        return Files.exists(image, LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * Makes the tenant's home and /run available at homeView and runView, on an image of
     * {@code bytes} bytes and {@code inodes} inodes owned by uid:gid: creates the image the
     * first time (moving in a home and /run that predate it), rebuilds it when the limits
     * changed (refused, image untouched, if the data does not fit), then mounts it. An image
     * already mounted with these limits (an earlier spawn, an earlier emperor) is used as it
     * is: never mounted a second time.
     */
    public void mount(long bytes, long inodes, int uid, int gid) {
        boolean sameLimits = imageExists() && DiskImage.sizeOf(image) == bytes && DiskImage.inodesOf(image) == inodes;
        if (sameLimits && mountedImage()) {
            prepareTop(uid, gid);
            if (!showsVolume(homeView)) bindView(mountPoint.resolve("home"), homeView);
            if (!showsVolume(runView)) bindView(mountPoint.resolve("run"), runView);
            return;
        }
        unmount();
        try {
            Files.createDirectories(image.getParent());
            Files.createDirectories(mountPoint.getParent());
            Files.setPosixFilePermissions(image.getParent(), PosixFilePermissions.fromString("rwx------"));
            Files.setPosixFilePermissions(mountPoint.getParent(), PosixFilePermissions.fromString("rwx------"));
            Files.createDirectories(mountPoint);
        } catch (IOException e) {
            throw new JailException("prepare disk of " + name, e.toString(), e);
        }
        boolean fresh = !imageExists();
        if (fresh) {
            DiskImage.create(image, bytes, inodes, name);
        } else if (!sameLimits) {
            rebuild(bytes, inodes);
        }
        mountImage(image, mountPoint);
        try {
            prepareTop(uid, gid);
            if (fresh && moveInPlainDirectories()) {
                prepareTop(uid, gid); // cp -a gave home/ and run/ the old directories' owners
            }
            bindView(mountPoint.resolve("home"), homeView);
            bindView(mountPoint.resolve("run"), runView);
        } catch (RuntimeException e) {
            unmount();
            if (fresh) deleteQuietly(image);
            throw e;
        }
    }

    /**
     * Removes the views and the image's mount from the host, every layer of them (lazily: a
     * user still inside keeps the filesystem until done).
     */
    public void unmount() {
        for (Path target : List.of(homeView, runView, mountPoint)) unmountAll(target);
    }

    /**
     * As {@link #unmount}, then waits until no loop device holds the image any more (autoclear
     * detaches it asynchronously once the filesystem's last user is gone): for deleting the
     * image, which must leave no device behind holding a deleted file.
     *
     * @throws JailException naming the device if the filesystem is still in use after {@code timeout}
     */
    public void unmountAndWaitDetached(java.time.Duration timeout) {
        unmount();
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Optional<String> device = LoopDevice.findAttached(image); device.isPresent();
                device = LoopDevice.findAttached(image)) {
            if (System.nanoTime() - deadline > 0) {
                throw new JailException("detach the disk image of " + name, image + " is still attached to "
                        + device.get() + " after " + timeout.toSeconds() + "s: its filesystem is still in use"
                        + " (a process with a file or directory open in it?)", null);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new JailException("detach the disk image of " + name, "interrupted", e);
            }
        }
    }

    private void unmountAll(Path target) {
        for (int layer = 0; layer < 16; layer++) {
            try {
                LibC.INSTANCE.umount2(target.toString(), MNT_DETACH);
            } catch (LastErrorException e) {
                // EINVAL: no (more) mount there; ENOENT: not even the directory
                if (e.getErrorCode() == EINVAL || e.getErrorCode() == ENOENT) return;
                throw LibC.failure("unmount", target + " of " + name, e);
            }
        }
    }

    /** Whether a view is a mount of the image's filesystem (not missing, nor something else). */
    private boolean showsVolume(Path view) {
        if (!isMountPoint(view)) {
            return false;
        }
        try {
            if (Files.getAttribute(view, "unix:dev", LinkOption.NOFOLLOW_LINKS)
                    .equals(Files.getAttribute(mountPoint, "unix:dev", LinkOption.NOFOLLOW_LINKS))) {
                return true;
            }
        } catch (IOException e) {
            // gone meanwhile: bound again below
        }
        unmountAll(view);
        return false;
    }

    /** Whether the mount point holds an ext4 filesystem now (statfs, cheap enough for status). */
    private boolean mounted() {
        return statfs(mountPoint).map(s -> s[0] == EXT4_MAGIC).orElse(false) && isMountPoint(mountPoint);
    }

    /** Whether what is mounted at the mount point is this image (through the loop device attached to it). */
    private boolean mountedImage() {
        if (!mounted()) return false;
        Optional<String> device = LoopDevice.findAttached(image);
        if (device.isEmpty()) return false;
        try {
            Object mountedDevice = Files.getAttribute(mountPoint, "unix:dev", LinkOption.NOFOLLOW_LINKS);
            Object loopDevice = Files.getAttribute(Path.of(device.get()), "unix:rdev");
            return mountedDevice.equals(loopDevice);
        } catch (IOException e) {
            return false;
        }
    }

    /** Usage of the mounted image, or empty when it is not mounted. */
    public Optional<Usage> usage() {
        if (!mounted()) return Optional.empty();
        return statfs(mountPoint).map(s -> new Usage((s[2] - s[3]) * s[1], s[4] * s[1], s[5] - s[6], s[6]));
    }

    // ---- the image -----------------------------------------------------------------------------

    /**
     * New limits for an existing image: a new image with them, the tenant's files copied over
     * (cp -a: owners, modes, times, links, holes), then swapped in. If the files do not fit,
     * the new image is dropped and the old one stays as it was.
     */
    private void rebuild(long bytes, long inodes) {
        Path newImage = image.resolveSibling(image.getFileName() + ".new");
        Path newMount = mountPoint.resolveSibling(mountPoint.getFileName() + ".new");
        DiskImage.create(newImage, bytes, inodes, name);
        boolean copied = false;
        try {
            Files.createDirectories(newMount);
            mountImage(image, mountPoint);
            mountImage(newImage, newMount);
            String whenFull = "the files of " + name + " do not fit in disk = " + DiskImage.size(bytes) + ", inodes = "
                    + inodes + ": the image keeps its old size (" + DiskImage.size(DiskImage.sizeOf(image)) + ", "
                    + DiskImage.inodesOf(image) + " inodes) and the tenant its files";
            DiskImage.copy(mountPoint, newMount, whenFull, name);
            copied = true;
        } catch (IOException e) {
            throw new JailException("resize disk of " + name, e.toString(), e);
        } finally {
            detach(newMount);
            detach(mountPoint);
            deleteQuietly(newMount);
            if (!copied) deleteQuietly(newImage);
        }
        try {
            Files.move(newImage, image, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            deleteQuietly(newImage);
            throw new JailException("resize disk of " + name, e.toString(), e);
        }
    }

    private void mountImage(Path file, Path target) {
        try (LoopDevice.Attached loop = LoopDevice.attach(file)) {
            LibC.INSTANCE.mount(loop.device(), target.toString(), "ext4", LibC.MS_NOSUID | LibC.MS_NODEV, null);
        } catch (LastErrorException e) {
            throw LibC.failure("mount disk image", file + " on " + target + " for " + name, e);
        }
    }

    private static void detach(Path target) {
        try {
            LibC.INSTANCE.umount2(target.toString(), MNT_DETACH);
        } catch (LastErrorException e) {
            // not mounted
        }
    }

    /** The image's top: root's; home/ and run/ the tenant's (uid may change between spawns). */
    private void prepareTop(int uid, int gid) {
        try {
            Files.setPosixFilePermissions(mountPoint, PosixFilePermissions.fromString("rwxr-xr-x"));
            for (var dir : List.of(new String[] {"home", "rwx------"}, new String[] {"run", "rwxr-xr-x"})) {
                Path path = mountPoint.resolve(dir[0]);
                if (!Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectory(path);
                    Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(dir[1]));
                }
                Files.setAttribute(path, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
                Files.setAttribute(path, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
            }
        } catch (IOException e) {
            throw new JailException("prepare disk of " + name, e.toString(), e);
        }
    }

    /**
     * Upgrade from the days before images: a home and /run that are plain host directories
     * are copied into the new image once. The old home is then kept aside as
     * HOME-DIR/NAME.pre-image (the operator deletes it); the old /run, runtime files now
     * copied, is emptied. A home larger than the image stops here, nothing lost.
     */
    private boolean moveInPlainDirectories() {
        boolean moved = false;
        try {
            if (hasEntries(homeView)) {
                moved = true;
                DiskImage.copy(homeView, mountPoint.resolve("home"), "the home " + homeView + " of " + name
                        + " does not fit in its new disk image: give it a larger disk", name);
                Path aside = homeView.resolveSibling(homeView.getFileName() + ".pre-image");
                Files.move(homeView, aside);
                Files.createDirectory(homeView);
            }
            if (hasEntries(runView)) {
                moved = true;
                DiskImage.copy(runView, mountPoint.resolve("run"), "the /run " + runView + " of " + name
                        + " does not fit in its new disk image: give it a larger disk", name);
                emptyTree(runView);
            }
            return moved;
        } catch (IOException e) {
            throw new JailException("move the home of " + name + " into its disk image", e.toString(), e);
        }
    }

    private void bindView(Path source, Path view) {
        try {
            Files.createDirectories(view);
            LibC.INSTANCE.mount(source.toString(), view.toString(), null, LibC.MS_BIND, null);
            LibC.INSTANCE.mount(null, view.toString(), null, LibC.MS_REMOUNT | LibC.MS_BIND | LibC.MS_NOSUID | LibC.MS_NODEV,
                    null);
        } catch (IOException e) {
            throw new JailException("prepare " + view + " of " + name, e.toString(), e);
        } catch (LastErrorException e) {
            throw LibC.failure("bind", source + " onto " + view + " for " + name, e);
        }
    }

    // ---- helpers --------------------------------------------------------------------------------

    /** statfs fields as longs: type, bsize, blocks, bfree, bavail, files, ffree. */
    private static Optional<long[]> statfs(Path path) {
        try (Memory buf = new Memory(120)) {
            LibC.INSTANCE.statfs(path.toString(), buf);
            long[] fields = new long[7];
            for (int i = 0; i < fields.length; i++) fields[i] = buf.getLong(i * 8L);
            return Optional.of(fields);
        } catch (LastErrorException e) {
            return Optional.empty();
        }
    }

    private static boolean isMountPoint(Path path) {
        try {
            Object own = Files.getAttribute(path, "unix:dev", LinkOption.NOFOLLOW_LINKS);
            Object parent = Files.getAttribute(path.getParent(), "unix:dev", LinkOption.NOFOLLOW_LINKS);
            return !own.equals(parent);
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean hasEntries(Path dir) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) || isMountPoint(dir)) return false;
        try (var entries = Files.list(dir)) {
            return entries.findAny().isPresent();
        }
    }

    /** Deletes what is inside dir, never following links. */
    private static void emptyTree(Path dir) throws IOException {
        List<Path> top = new ArrayList<>();
        try (var entries = Files.list(dir)) {
            entries.forEach(top::add);
        }
        for (Path entry : top) {
            Files.walkFileTree(entry, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    if (e != null) throw e;
                    Files.delete(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        }
    }

    static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // best effort on a failure path; the error that got us here is what counts
        }
    }
}
