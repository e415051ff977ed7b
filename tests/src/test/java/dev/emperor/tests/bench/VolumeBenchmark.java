package dev.emperor.tests.bench;

import dev.emperor.jail.TenantVolume;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * What a tenant's disk image adds to a spawn, measured on the real code path
 * ({@link TenantVolume#mount}, as the launcher calls it): the first spawn (sparse file,
 * mke2fs, loop device, mount, two bind views), a spawn of a tenant whose image exists but is not
 * mounted (after a host reboot: loop device, mount, views), a respawn (still mounted: checked and
 * used as it is; the tenant is only unmounted when removed) and the tear-down (three lazy
 * unmounts, the loop device detaching itself), against the two plain directories of a tenant
 * with disk = unlimited. Not run by `mvn verify`; as root:
 *
 * <pre>java -cp tests/target/test-classes:supervisor/target/emperor-supervisor.jar:supervisor/target/lib/*
 *     dev.emperor.tests.bench.VolumeBenchmark [ITERATIONS] [DISK_BYTES] [INODES]</pre>
 *
 * Prints medians and one machine-readable line "RESULT create_ms=... mount_ms=... unmount_ms=...".
 */
public final class VolumeBenchmark {
    private static final int UID = 300_501;

    public static void main(String[] args) throws Exception {
        int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        long bytes = args.length > 1 ? Long.parseLong(args[1]) : 1L << 30;
        long inodes = args.length > 2 ? Long.parseLong(args[2]) : 65_536;
        Path root = Files.createTempDirectory(Path.of("/var/tmp"), "emperor-volume-bench-");
        double[] create = new double[iterations];
        double[] mount = new double[iterations];
        double[] unmount = new double[iterations];
        double[] plain = new double[iterations];
        double[] reuse = new double[iterations];
        try {
            for (int i = 0; i < iterations; i++) {
                TenantVolume volume = new TenantVolume("bench" + i, root.resolve("state/volumes/bench" + i + ".img"),
                        root.resolve("run/volumes/bench" + i), root.resolve("homes/bench" + i),
                        root.resolve("run/vassals/bench" + i));
                long t0 = System.nanoTime();
                volume.mount(bytes, inodes, UID, UID); // first spawn: the image is made
                long t1 = System.nanoTime();
                volume.unmount();
                long t2 = System.nanoTime();
                volume.mount(bytes, inodes, UID, UID); // a spawn after the emperor unmounted it (host reboot, re-added tenant)
                long t3 = System.nanoTime();
                volume.mount(bytes, inodes, UID, UID); // a respawn: still mounted, checked and used as it is
                reuse[i] = (System.nanoTime() - t3) / 1e6;
                volume.unmount();
                create[i] = (t1 - t0) / 1e6;
                unmount[i] = (t2 - t1) / 1e6;
                mount[i] = (t3 - t2) / 1e6;
                Files.delete(volume.image());
                long t4 = System.nanoTime();
                for (Path dir : java.util.List.of(root.resolve("plain/homes/bench" + i), root.resolve("plain/run/bench" + i))) {
                    Files.createDirectories(dir); // what an unlimited tenant gets, as TenantLauncher makes it
                    Files.setAttribute(dir, "unix:uid", UID);
                    Files.setAttribute(dir, "unix:gid", UID);
                }
                plain[i] = (System.nanoTime() - t4) / 1e6;
            }
        } finally {
            new ProcessBuilder("rm", "-rf", "--one-file-system", root.toString()).inheritIO().start().waitFor();
        }
        System.out.printf("disk %d bytes, %d inodes, %d iterations (medians)%n", bytes, inodes, iterations);
        System.out.printf("first spawn (create + mount): %.1f ms%n", median(create));
        System.out.printf("spawn, image exists (mount):  %.1f ms%n", median(mount));
        System.out.printf("respawn, image mounted:       %.2f ms%n", median(reuse));
        System.out.printf("after exit (unmount):         %.1f ms%n", median(unmount));
        System.out.printf("disk = unlimited (two dirs):  %.2f ms%n", median(plain));
        System.out.printf("RESULT create_ms=%.1f mount_ms=%.1f reuse_ms=%.2f unmount_ms=%.1f plain_ms=%.2f%n", median(create),
                median(mount), median(reuse), median(unmount), median(plain));
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
