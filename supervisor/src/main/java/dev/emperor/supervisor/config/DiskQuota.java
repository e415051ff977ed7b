package dev.emperor.supervisor.config;

/**
 * A tenant's bound on disk space and inodes (vassal keys {@code disk} and {@code inodes},
 * defaults emperor.ini's {@code disk-default} and {@code inodes-default}): the size and inode
 * count of its filesystem image, which holds its home and its /run.
 *
 * @param bytes  size of the image; 0 = unlimited (home and /run are plain host directories)
 * @param inodes inodes of the image; 0 when unlimited
 */
public record DiskQuota(long bytes, long inodes) {
    /** The smallest image: below it ext4's journal and tables leave the tenant next to nothing. */
    public static final long MIN_BYTES = 16L << 20;
    /** The largest image (16T: far beyond any host's free space, well inside ext4's limits). */
    public static final long MAX_BYTES = 16L << 40;
    public static final long MIN_INODES = 64;
    /** ext4 counts inodes in 32 bits. */
    public static final long MAX_INODES = 0xFFFF_FFFFL;
    /** ext4 with 4K blocks has at most one inode per block. */
    public static final long BYTES_PER_INODE_AT_LEAST = 4096;

    public static final DiskQuota UNLIMITED = new DiskQuota(0, 0);
    public static final DiskQuota DEFAULT = new DiskQuota(1L << 30, 65_536);

    public boolean limited() {
        return bytes > 0;
    }

    /** Most inodes an image of this many bytes can have. */
    public static long maxInodesFor(long bytes) {
        return Math.min(MAX_INODES, bytes / BYTES_PER_INODE_AT_LEAST);
    }

    /** "unlimited", or e.g. "1G, 65536 inodes". */
    @Override
    public String toString() {
        return limited() ? Units.formatSize(bytes) + ", " + inodes + " inodes" : "unlimited";
    }
}
