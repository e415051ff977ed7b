package dev.emperor.supervisor.logs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The emperor's side of the tenants' logs, through real pipes: what a tenant writes into its
 * pipe, what lands in its files, and the bounds on both. {@code logs.close()} drains every
 * pipe before it returns, so a test reads the files after it without waiting on anything.
 */
class TenantLogsTest {

    /** Writes into the pipe's write end, as the tenant's processes do. */
    private interface LibC extends Library {
        LibC INSTANCE = Native.load("c", LibC.class);

        long write(int fd, byte[] buf, long count) throws LastErrorException;
    }

    @TempDir
    Path tmp;

    Path dir;
    TenantLogs logs;
    LogLimits limits = new LogLimits(1L << 20, 3, 1L << 30);

    @BeforeEach
    void open() throws IOException {
        dir = tmp.resolve("log/emperor");
        logs = TenantLogs.open(dir);
        logs.useLimits(() -> limits);
    }

    @AfterEach
    void close() {
        logs.close();
    }

    private static void write(TenantLogs.PipeEnds pipe, String text) {
        write(pipe, text.getBytes(StandardCharsets.UTF_8));
    }

    private static void write(TenantLogs.PipeEnds pipe, byte[] bytes) {
        int done = 0;
        while (done < bytes.length) {
            byte[] rest = java.util.Arrays.copyOfRange(bytes, done, bytes.length);
            done += (int) LibC.INSTANCE.write(pipe.writeFd(), rest, rest.length);
        }
    }

    private String read(String file) throws IOException {
        return Files.readString(dir.resolve(file));
    }

    /** Every file of alice's log, oldest part first. */
    private List<Path> aliceFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().startsWith("alice.log")).sorted().toList();
        }
    }

    @Test
    void theLogDirectoryAndFilesAreRootsOnly() throws IOException {
        logs.append("alice", "spawned");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwxr-x---");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("alice.log"))))
                .isEqualTo("rw-r-----");
    }

    @Test
    void theTenantGetsAPipeNeverTheFile() throws IOException {
        TenantLogs.PipeEnds pipe = logs.newPipe("alice");
        for (int fd : new int[] {pipe.writeFd(), pipe.readFd()}) {
            assertThat(Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString()).startsWith("pipe:[");
        }
        assertThat(Files.readString(Path.of("/proc/self/fdinfo/" + pipe.writeFd())))
                .as("close-on-exec: only the processes the jail hands it to get it").contains("flags:\t02000001");
    }

    @Test
    void emperorNotesAndTenantLinesInterleaveLineByLine() throws IOException {
        TenantLogs.PipeEnds pipe = logs.newPipe("alice");
        logs.append("alice", "spawned pid 123");
        write(pipe, "hello\nworld\n");
        logs.close();
        logs.append("alice", "two\nlines");
        String log = read("alice.log");
        assertThat(log).matches("(?s)\\[emperor [0-9T:-]+Z] spawned pid 123\nhello\nworld\n\\[emperor [0-9T:-]+Z] two lines\n");
    }

    @Test
    void aTenantLineCannotPassForAnEmperorNote() throws IOException {
        TenantLogs.PipeEnds pipe = logs.newPipe("alice");
        write(pipe, "[emperor 2026-01-01T00:00:00Z] payload exited: forged\n");
        write(pipe, "innocent\r[emperor 2026-01-01T00:00:00Z] hidden by a carriage return\n");
        write(pipe, "[emperor\n");
        logs.close();
        List<String> lines = Files.readAllLines(dir.resolve("alice.log"));
        assertThat(lines).containsExactly(
                "[tenant] [emperor 2026-01-01T00:00:00Z] payload exited: forged",
                "innocent\\x0d[emperor 2026-01-01T00:00:00Z] hidden by a carriage return",
                "[tenant] [emperor");
        assertThat(lines).noneMatch(line -> line.startsWith("[emperor"));
    }

    @Test
    void controlCharactersAreEscapedOnDiskAndCrlfEndsALine() throws IOException {
        TenantLogs.PipeEnds pipe = logs.newPipe("alice");
        write(pipe, "\u001b]0;owned\u0007\u001b[2Jred\tok\u007f\r\n");
        logs.close();
        assertThat(read("alice.log")).isEqualTo("\\x1b]0;owned\\x07\\x1b[2Jred\tok\\x7f\n");
    }

    @Test
    void aLineLongerThanTheLimitIsCut() throws IOException {
        limits = new LogLimits(4096, 1, 1L << 30);
        TenantLogs.PipeEnds pipe = logs.newPipe("alice");
        write(pipe, "x".repeat(10_000) + "\nafter\n");
        logs.close();
        for (Path file : aliceFiles()) assertThat(Files.size(file)).isLessThanOrEqualTo(4096);
        assertThat(Files.readAllLines(dir.resolve("alice.log"))).last().isEqualTo("after");
    }

    @Test
    void aFloodNeverTakesTheFilesPastMaxSizeTimesKeepPlusOne() throws IOException {
        limits = new LogLimits(4096, 2, 1L << 30);
        TenantLogs.PipeEnds pipe = logs.newPipe("alice");
        StringBuilder flood = new StringBuilder();
        for (int i = 0; i < 20_000; i++) flood.append("line ").append(i).append('\n');
        write(pipe, flood.toString());
        logs.close();
        List<Path> files = aliceFiles();
        assertThat(files).extracting(f -> f.getFileName().toString())
                .containsExactly("alice.log", "alice.log.1", "alice.log.2");
        long total = 0;
        for (Path file : files) {
            assertThat(Files.size(file)).as("%s", file).isLessThanOrEqualTo(4096);
            total += Files.size(file);
        }
        assertThat(total).isLessThanOrEqualTo(4096 * 3);
        List<String> newest = Files.readAllLines(dir.resolve("alice.log"));
        assertThat(newest).last().isEqualTo("line 19999");
        List<String> older = Files.readAllLines(dir.resolve("alice.log.1"));
        int lastOfOlder = Integer.parseInt(older.get(older.size() - 1).substring(5));
        assertThat(newest.get(0)).as("parts follow each other without a gap").isEqualTo("line " + (lastOfOlder + 1));
    }

    @Test
    void rotationRenamesTheFileItNeverCopiesIt() throws IOException {
        limits = new LogLimits(4096, 1, 1L << 30);
        logs.append("alice", "first");
        Object before = Files.readAttributes(dir.resolve("alice.log"), BasicFileAttributes.class).fileKey();
        for (int i = 0; i < 200; i++) logs.append("alice", "note " + i);
        assertThat(Files.readAttributes(dir.resolve("alice.log.1"), BasicFileAttributes.class).fileKey())
                .as("alice.log.1 is the very file alice.log was").isEqualTo(before);
    }

    @Test
    void linesOverTheRateAreDroppedAndCountedInOneNote() throws IOException {
        limits = new LogLimits(1L << 20, 1, 1024);
        TenantLogs.PipeEnds pipe = logs.newPipe("alice");
        StringBuilder flood = new StringBuilder();
        for (int i = 0; i < 10_000; i++) flood.append("line ").append(i).append('\n');
        write(pipe, flood.toString());
        logs.close();
        String log = read("alice.log");
        assertThat(log.length()).as("about one burst (16K) got through, not the 100K written").isLessThan(40_000);
        assertThat(log).contains("line 0\n");
        List<String> notes = log.lines().filter(l -> l.startsWith("[emperor ")).toList();
        assertThat(notes).isNotEmpty().allMatch(n -> n.matches(".*] dropped \\d+ lines \\(\\d+ bytes\\) over log-rate \\(1024 bytes/s\\)"));
        long dropped = notes.stream().mapToLong(n -> Long.parseLong(n.replaceAll(".*dropped (\\d+) lines.*", "$1"))).sum();
        long written = log.lines().filter(l -> l.startsWith("line ")).count();
        assertThat(written + dropped).as("every line is either written or counted").isEqualTo(10_000);
    }

    @Test
    void anUnfinishedLineIsWrittenWhenThePipeEnds() throws IOException {
        TenantLogs.PipeEnds pipe = logs.newPipe("alice");
        write(pipe, "no newline yet");
        logs.close();
        assertThat(read("alice.log")).isEqualTo("no newline yet\n");
    }

    @Test
    void aDetachedPipeIsDrainedThenClosed() throws Exception {
        TenantLogs.PipeEnds pipe = logs.newPipe("alice");
        write(pipe, "last words\n");
        logs.detach("alice");
        // no close(): the pump alone reads the rest once the emperor let go of its write end
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(dir.resolve("alice.log")) && System.nanoTime() < deadline) Thread.sleep(20);
        while (!read("alice.log").equals("last words\n") && System.nanoTime() < deadline) Thread.sleep(20);
        assertThat(read("alice.log")).isEqualTo("last words\n");
    }

    @Test
    void tailReturnsTheLastLines() throws IOException {
        TenantLogs.PipeEnds pipe = logs.newPipe("alice");
        StringBuilder text = new StringBuilder();
        for (int i = 1; i <= 100; i++) text.append("line ").append(i).append('\n');
        write(pipe, text.toString());
        logs.close();
        assertThat(logs.tail("alice", 3)).containsExactly("line 98", "line 99", "line 100");
        assertThat(logs.tail("alice", 0)).isEmpty();
        assertThat(logs.tail("nobody", 10)).isEmpty();
    }

    /** Runs follow on a thread; lines arrive in the returned queue. */
    private final class Follower implements AutoCloseable {
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final Thread thread;

        Follower(String name, int backlog) {
            thread = Thread.ofPlatform().start(() -> {
                try {
                    logs.follow(name, backlog, lines::add, stop::get);
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
        }

        List<String> next(int count) throws InterruptedException {
            List<String> got = new ArrayList<>();
            while (got.size() < count) {
                String line = lines.poll(30, TimeUnit.SECONDS);
                assertThat(line).as("line %d of %d (got %s)", got.size() + 1, count, got).isNotNull();
                got.add(line);
            }
            return got;
        }

        @Override
        public void close() {
            stop.set(true);
            try {
                thread.join();
            } catch (InterruptedException e) {
                throw new AssertionError("interrupted waiting for the follower", e);
            }
            assertThat(failure.get()).isNull();
        }
    }

    @Test
    void followShowsTheBacklogThenNewLines() throws Exception {
        logs.append("alice", "one");
        logs.append("alice", "two");
        try (Follower follower = new Follower("alice", 1)) {
            assertThat(follower.next(1).get(0)).endsWith("] two");
            logs.append("alice", "three");
            assertThat(follower.next(1).get(0)).endsWith("] three");
        }
    }

    @Test
    void followWaitsForALogThatDoesNotExistYet() throws Exception {
        try (Follower follower = new Follower("alice", 10)) {
            logs.append("alice", "first note");
            assertThat(follower.next(1).get(0)).endsWith("] first note");
        }
    }

    @Test
    void followReadsTheRotatedFileToItsEndThenTheNewOne() throws Exception {
        limits = new LogLimits(4096, 1, 1L << 30);
        logs.append("alice", "first");
        try (Follower follower = new Follower("alice", 1)) {
            assertThat(follower.next(1).get(0)).endsWith("] first");
            // 150 notes of 40 bytes: one rotation (4K), so the follower never misses a whole part
            for (int i = 0; i < 150; i++) logs.append("alice", "note " + i);
            List<String> got = follower.next(150);
            for (int i = 0; i < 150; i++) assertThat(got.get(i)).endsWith("] note " + i);
        }
        assertThat(Files.exists(dir.resolve("alice.log.1"))).as("it did rotate").isTrue();
    }

    @Test
    void aNameThatWouldLeaveTheDirectoryIsRefused() {
        assertThatThrownBy(() -> logs.logFile("../etc/passwd")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> logs.logFile("..")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> logs.logFile("")).isInstanceOf(IllegalArgumentException.class);
    }
}
