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
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TenantLogsTest {

    /** Writes through the raw fd, as the tenant does. */
    private interface LibC extends Library {
        LibC INSTANCE = Native.load("c", LibC.class);

        long write(int fd, byte[] buf, long count) throws LastErrorException;
    }

    @TempDir
    Path tmp;

    Path dir;
    TenantLogs logs;

    @BeforeEach
    void open() throws IOException {
        dir = tmp.resolve("log/emperor");
        logs = TenantLogs.open(dir);
    }

    private static void write(LogFd fd, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        assertThat(LibC.INSTANCE.write(fd.fd(), bytes, bytes.length)).isEqualTo(bytes.length);
    }

    private String read(String file) throws IOException {
        return Files.readString(dir.resolve(file));
    }

    @Test
    void theLogDirectoryAndFilesAreRootsOnly() throws IOException {
        try (LogFd fd = logs.openAppendFd("alice")) {
            write(fd, "hello\n");
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwxr-x---");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(logs.logFile("alice"))))
                .isEqualTo("rw-r-----");
        assertThat(read("alice.log")).isEqualTo("hello\n");
    }

    @Test
    void theTenantFdIsAppendOnlyAndCloseOnExec() throws IOException {
        try (LogFd fd = logs.openAppendFd("alice")) {
            String fdinfo = Files.readString(Path.of("/proc/self/fdinfo/" + fd.fd()));
            String flags = fdinfo.lines().filter(l -> l.startsWith("flags:")).findFirst().orElseThrow();
            int octal = Integer.parseInt(flags.substring("flags:".length()).strip(), 8);
            assertThat(octal & 02000).as("O_APPEND").isNotZero();
            assertThat(octal & 02000000).as("O_CLOEXEC").isNotZero();
            assertThat(octal & 03).as("write-only").isEqualTo(01);
        }
    }

    @Test
    void aClosedFdCannotBeUsed() throws IOException {
        LogFd fd = logs.openAppendFd("alice");
        fd.close();
        fd.close();
        assertThatThrownBy(fd::fd).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void emperorNotesAndTenantOutputInterleaveWithoutOverwriting() throws IOException {
        try (LogFd fd = logs.openAppendFd("alice")) {
            logs.append("alice", "spawned pid 123");
            write(fd, "tenant says hi\n");
            logs.append("alice", "two\nlines");
        }
        List<String> lines = Files.readAllLines(logs.logFile("alice"));
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).matches("\\[emperor \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ] spawned pid 123");
        assertThat(lines.get(1)).isEqualTo("tenant says hi");
        assertThat(lines.get(2)).endsWith("] two lines");
    }

    @Test
    void aLogBelowTheLimitIsNotRotated() throws IOException {
        assertThat(logs.rotateIfNeeded("alice", 100, 3)).as("no log yet").isFalse();
        logs.append("alice", "short");
        assertThat(logs.rotateIfNeeded("alice", 1000, 3)).isFalse();
        assertThat(dir.resolve("alice.log.1")).doesNotExist();
    }

    @Test
    void rotationKeepsTheNewestPartsInOrderAndDropsTheOldest() throws IOException {
        try (LogFd fd = logs.openAppendFd("alice")) {
            for (int part = 1; part <= 5; part++) {
                write(fd, "part " + part + "\n");
                assertThat(logs.rotateIfNeeded("alice", 1, 3)).isTrue();
            }
            write(fd, "part 6\n");
        }
        assertThat(read("alice.log")).isEqualTo("part 6\n");
        assertThat(read("alice.log.1")).isEqualTo("part 5\n");
        assertThat(read("alice.log.2")).isEqualTo("part 4\n");
        assertThat(read("alice.log.3")).isEqualTo("part 3\n");
        assertThat(dir.resolve("alice.log.4")).doesNotExist();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("alice.log.1"))))
                .isEqualTo("rw-r-----");
    }

    @Test
    void keepingNoPartsOnlyTruncates() throws IOException {
        logs.append("alice", "old");
        assertThat(logs.rotateIfNeeded("alice", 1, 0)).isTrue();
        assertThat(Files.size(logs.logFile("alice"))).isZero();
        assertThat(dir.resolve("alice.log.1")).doesNotExist();
    }

    @Test
    void theTenantFdKeepsWritingAtTheStartAfterRotation() throws IOException {
        try (LogFd fd = logs.openAppendFd("alice")) {
            write(fd, "x".repeat(5000) + "\n");
            assertThat(logs.rotateIfNeeded("alice", 4096, 2)).isTrue();
            write(fd, "after rotation\n");
        }
        // O_APPEND: no hole of 5001 zero bytes in front of the new line.
        assertThat(read("alice.log")).isEqualTo("after rotation\n");
        assertThat(Files.size(dir.resolve("alice.log.1"))).isEqualTo(5001);
    }

    @Test
    void tailReturnsTheLastLines() throws IOException {
        assertThat(logs.tail("alice", 10)).as("no log yet").isEmpty();
        try (LogFd fd = logs.openAppendFd("alice")) {
            StringBuilder text = new StringBuilder();
            for (int i = 1; i <= 3000; i++) {
                text.append("line ").append(i).append('\n');
            }
            write(fd, text.toString());
            assertThat(logs.tail("alice", 3)).containsExactly("line 2998", "line 2999", "line 3000");
            assertThat(logs.tail("alice", 0)).isEmpty();
            write(fd, "unfinished");
            assertThat(logs.tail("alice", 2)).containsExactly("line 3000", "unfinished");
        }
        assertThat(logs.tail("alice", 5000)).hasSize(3001).startsWith("line 1");
    }

    @Test
    void tailOfALogWithBlankLinesKeepsThem() throws IOException {
        try (LogFd fd = logs.openAppendFd("alice")) {
            write(fd, "a\n\n\nb\n");
        }
        assertThat(logs.tail("alice", 3)).containsExactly("", "", "b");
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
        try (LogFd fd = logs.openAppendFd("alice")) {
            write(fd, "one\ntwo\nthree\n");
            try (Follower follower = new Follower("alice", 2)) {
                assertThat(follower.next(2)).containsExactly("two", "three");
                write(fd, "four\nfi");
                assertThat(follower.next(1)).containsExactly("four");
                write(fd, "ve\n");
                assertThat(follower.next(1)).as("a line written in two pieces arrives whole").containsExactly("five");
            }
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
    void followStartsAgainAtTheTopAfterRotation() throws Exception {
        try (LogFd fd = logs.openAppendFd("alice")) {
            write(fd, "a long line before the rotation\n");
            try (Follower follower = new Follower("alice", 1)) {
                assertThat(follower.next(1)).containsExactly("a long line before the rotation");
                assertThat(logs.rotateIfNeeded("alice", 1, 1)).isTrue();
                write(fd, "new\n");
                assertThat(follower.next(1)).containsExactly("new");
            }
        }
    }

    @Test
    void followNoticesRotationEvenWhenTheLogRegrewPastItsPosition() throws Exception {
        // The stop callback runs before each look at the file; blocking in it lets the test
        // decide exactly when the follower looks, with no timing involved.
        Semaphore mayLook = new Semaphore(0);
        Semaphore atGate = new Semaphore(0);
        AtomicBoolean done = new AtomicBoolean();
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();

        try (LogFd fd = logs.openAppendFd("alice")) {
            write(fd, "short\n");
            Thread follower = Thread.ofPlatform().start(() -> {
                try {
                    logs.follow("alice", 0, lines::add, () -> {
                        atGate.release();
                        mayLook.acquireUninterruptibly();
                        return done.get();
                    });
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            atGate.acquire();
            write(fd, "seen\n");
            mayLook.release();
            assertThat(lines.poll(30, TimeUnit.SECONDS)).isEqualTo("seen");
            atGate.acquire(); // that look is over

            assertThat(logs.rotateIfNeeded("alice", 1, 1)).isTrue();
            write(fd, "a first line after rotation, longer than the old log\n");
            mayLook.release();
            assertThat(lines.poll(30, TimeUnit.SECONDS)).isEqualTo("a first line after rotation, longer than the old log");

            atGate.acquire();
            done.set(true);
            mayLook.release();
            follower.join();
        }
        assertThat(failure.get()).isNull();
        assertThat(lines).isEmpty();
    }

    @Test
    void aNameThatWouldLeaveTheDirectoryIsRefused() {
        assertThatThrownBy(() -> logs.logFile("../etc/passwd")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> logs.logFile("..")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> logs.logFile("")).isInstanceOf(IllegalArgumentException.class);
    }
}
