package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A tenant's home and /run live on its own filesystem image (vassal keys disk and inodes):
 * filling them gives the tenant ENOSPC and costs the host and the other tenants nothing.
 */
class DiskQuotaTest {
    private static final long MIB = 1L << 20;
    private final EmperorProcess emperor = new EmperorProcess();

    @AfterEach
    void cleanUp() {
        emperor.close();
    }

    /** The attack: fallocate 3G in the home, fill /run with dd, then create files until it fails. */
    private static final String HOG = "exec = sh -c '"
            + "fallocate -l 3G $HOME/big 2>&1; echo fallocate-rc=$?; rm -f $HOME/big; "
            + "dd if=/dev/zero of=/run/fill bs=1M count=100 2>&1; echo dd-rc=$?; "
            + "dd if=/dev/zero of=$HOME/more bs=1M count=1 2>&1; echo home-after-run-full-rc=$?; "
            + "rm -f /run/fill $HOME/more; mkdir $HOME/f; i=0; "
            + "while touch $HOME/f/$i 2>/dev/null; do i=$((i+1)); done; echo files=$i; "
            + "touch /run/one-more 2>&1; echo attack-done; exec sleep 100000'";

    @Test
    void aTenantFillingItsDiskAndInodesGetsEnospcAndNobodyElseNotices() throws Exception {
        emperor.start();
        emperor.vassal("hog", "distro = busybox", "disk = 16M", "inodes = 1024", HOG);
        emperor.vassal("neighbour", "distro = busybox", "disk = 32M",
                "exec = sh -c 'sleep 1; dd if=/dev/zero of=$HOME/ok bs=1M count=4 && echo neighbour-wrote-ok; exec sleep 100000'");
        emperor.waitFor("the attack to finish", Duration.ofSeconds(60),
                () -> log("hog").contains("attack-done"), () -> "log: " + log("hog"));
        String hog = log("hog");

        // Each way of filling the disk ends in ENOSPC for the tenant.
        assertThat(hog).contains("fallocate-rc=1").contains("dd-rc=1").contains("home-after-run-full-rc=1");
        assertThat(hog).contains("No space left on device");
        // Files until the inodes ran out: about 1024, less what the image itself uses.
        Matcher files = Pattern.compile("files=(\\d+)").matcher(hog);
        assertThat(files.find()).as(hog).isTrue();
        assertThat(Integer.parseInt(files.group(1))).isBetween(1024 - 32, 1024);
        assertThat(hog).containsPattern("touch: /run/one-more: No space left on device");

        // The host holds at most the image's size for it, whatever the tenant tried.
        assertThat(allocatedBytes(emperor.imageOf("hog"))).isLessThanOrEqualTo(16 * MIB);
        // Another tenant writes as usual.
        emperor.waitFor("the neighbour's write", Duration.ofSeconds(30), () -> log("neighbour").contains("neighbour-wrote-ok"),
                () -> "log: " + log("neighbour"));

        // status shows the bound and how full it is.
        JsonNode disk = emperor.statusOf("hog").path("disk");
        assertThat(disk.path("limit").asLong()).isEqualTo(16 * MIB);
        assertThat(disk.path("inodesLimit").asLong()).isEqualTo(1024);
        assertThat(disk.path("inodesUsed").asLong()).isGreaterThanOrEqualTo(Integer.parseInt(files.group(1)));
        assertThat(disk.path("inodesFree").asLong()).isZero();
        assertThat(emperor.command("status", "hog").out()).contains("inodes used, 0 free (disk = 16.0M, inodes = 1024)");
    }

    @Test
    void theMountSurvivesAnEmperorRestartOnceAndChangesOfTheBoundKeepTheFiles() throws Exception {
        emperor.set("on-exit", "leave").start();
        emperor.vassal("keeper", "distro = busybox", "disk = 32M", EmperorProcess.SLEEPER);
        int pid = emperor.waitForRunning("keeper").path("pid").asInt();
        emperor.waitFor("the first spawn", Duration.ofSeconds(10), () -> emperor.spawnCount("keeper") == 1);
        Path volume = emperor.root().resolve("run/volumes/keeper");
        assertThat(EmperorProcess.mountsAt(volume)).isEqualTo(1);
        assertThat(emperor.loopDevicesUnderRoot()).hasSize(1);

        // kill -9 and a new emperor: the tenant is adopted, its disk neither mounted again nor lost
        emperor.kill9();
        emperor.start();
        assertThat(emperor.waitForRunning("keeper").path("pid").asInt()).isEqualTo(pid);
        assertThat(EmperorProcess.mountsAt(volume)).isEqualTo(1);
        assertThat(emperor.loopDevicesUnderRoot()).hasSize(1);
        assertThat(emperor.statusOf("keeper").path("disk").path("used").asLong()).isPositive();

        // 20M of data, then a bound below it: refused, nothing lost
        try (RandomAccessFile data = new RandomAccessFile(emperor.homeOf("keeper").resolve("data").toFile(), "rw")) {
            data.write(new byte[(int) (20 * MIB)]);
        }
        emperor.vassal("keeper", "distro = busybox", "disk = 16M", EmperorProcess.SLEEPER);
        JsonNode[] last = new JsonNode[1];
        emperor.waitFor("the smaller disk to be refused", Duration.ofSeconds(60), () -> {
            last[0] = emperor.statusOf("keeper");
            return last[0].path("reason").asText().contains("do not fit in disk = 16M");
        }, () -> "status: " + last[0]);
        assertThat(last[0].path("state").asText()).isNotEqualTo("running");
        assertThat(Files.size(emperor.imageOf("keeper"))).isEqualTo(32 * MIB);

        // a larger bound: a new image with the same files (the payload's /run/spawns counts on)
        emperor.vassal("keeper", "distro = busybox", "disk = 64M", "inodes = 2000", EmperorProcess.SLEEPER);
        emperor.waitFor("keeper on its larger disk", Duration.ofSeconds(60), () -> emperor.spawnCount("keeper") == 2,
                () -> "status: " + emperor.statusOf("keeper"));
        assertThat(Files.size(emperor.homeOf("keeper").resolve("data"))).isEqualTo(20 * MIB);
        JsonNode disk = emperor.statusOf("keeper").path("disk");
        assertThat(disk.path("limit").asLong()).isEqualTo(64 * MIB);
        assertThat(disk.path("used").asLong()).isGreaterThanOrEqualTo(20 * MIB);
        assertThat(disk.path("inodesUsed").asLong() + disk.path("inodesFree").asLong()).isBetween(2000L, 2100L);

        // unlimited would hide the files in the image: refused, the image stays as it is
        emperor.vassal("keeper", "distro = busybox", "disk = unlimited", EmperorProcess.SLEEPER);
        emperor.waitFor("disk = unlimited to be refused", Duration.ofSeconds(60), () -> {
            last[0] = emperor.statusOf("keeper");
            return last[0].path("lastError").asText().contains("unlimited, but the tenant's files are in its disk image");
        }, () -> "status: " + last[0]);
        assertThat(Files.size(emperor.imageOf("keeper"))).isEqualTo(64 * MIB);

        // removal: unmounted, loop device gone, image kept (with the home in it)
        Files.delete(emperor.vassalsDir().resolve("keeper.ini"));
        emperor.waitFor("keeper to be removed", Duration.ofSeconds(30), () -> emperor.status("keeper").isEmpty());
        assertThat(emperor.mountsUnderRoot()).isEmpty();
        emperor.waitFor("its loop device to detach", Duration.ofSeconds(30), () -> emperor.loopDevicesUnderRoot().isEmpty());
        assertThat(emperor.imageOf("keeper")).exists();
    }

    @Test
    void aHomeFromBeforeImagesIsMovedInOnce() throws Exception {
        EmperorProcess.write(emperor.homeOf("old").resolve("letter.txt"), "kept across the upgrade\n");
        emperor.start();
        emperor.vassal("old", "distro = busybox", "disk = 16M",
                "exec = sh -c 'cat $HOME/letter.txt; echo written-after > $HOME/new.txt; exec sleep 100000'");
        emperor.waitFor("old to read its letter", Duration.ofSeconds(30), () -> log("old").contains("kept across the upgrade"),
                () -> "log: " + log("old") + "\n" + emperor.statusOf("old"));
        assertThat(emperor.root().resolve("home/old.pre-image/letter.txt")).hasContent("kept across the upgrade");
        emperor.waitFor("the new file", Duration.ofSeconds(10), () -> Files.exists(emperor.homeOf("old").resolve("new.txt")));
        assertThat(allocatedBytes(emperor.imageOf("old"))).isPositive();
    }

    private String log(String tenant) {
        try {
            return Files.readString(emperor.logOf(tenant));
        } catch (IOException e) {
            return "";
        }
    }

    /** Bytes the host's filesystem allocated for a (sparse) file. */
    private static long allocatedBytes(Path file) throws Exception {
        Process p = new ProcessBuilder("stat", "-c", "%b %B", file.toString()).redirectErrorStream(true).start();
        String[] out = new String(p.getInputStream().readAllBytes()).strip().split(" ");
        assertThat(p.waitFor()).as(String.join(" ", out)).isZero();
        return Long.parseLong(out[0]) * Long.parseLong(out[1]);
    }
}
