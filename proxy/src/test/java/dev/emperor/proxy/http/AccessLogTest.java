package dev.emperor.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AccessLogTest {

    @TempDir
    Path dir;

    private static void log(AccessLog log, EventLoop loop, String tenant, String line) throws Exception {
        byte[] bytes = line.getBytes(StandardCharsets.ISO_8859_1);
        loop.submit(() -> log.log(loop, tenant, bytes, bytes.length)).get(5, TimeUnit.SECONDS);
    }

    private static String read(Path file) throws Exception {
        return Files.exists(file) ? Files.readString(file, StandardCharsets.ISO_8859_1) : "";
    }

    @Test
    void linesReachTheirTenantsFileSoonAndInOrder() throws Exception {
        EventLoop loop = new DefaultEventLoop();
        try (AccessLog log = new AccessLog(dir)) {
            log(log, loop, "a", "one");
            log(log, loop, "b", "other");
            log(log, loop, "a", "two");
            Path a = dir.resolve("a.access.log");
            Path other = dir.resolve("b.access.log");
            for (int i = 0; i < 50 && !(read(a).equals("one\ntwo\n") && read(other).equals("other\n")); i++) {
                Thread.sleep(20);
            }
            assertThat(read(a)).isEqualTo("one\ntwo\n");
            assertThat(read(other)).isEqualTo("other\n");
            log(log, loop, "a", "three"); // the tenant's gathered lines were handed over: it starts again
            for (int i = 0; i < 50 && !read(a).endsWith("three\n"); i++) {
                Thread.sleep(20);
            }
            assertThat(read(a)).isEqualTo("one\ntwo\nthree\n");
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    @Test
    void closingWritesWhatTheLoopsStillHoldAndLongLogsArriveWhole() throws Exception {
        EventLoop loop = new DefaultEventLoop();
        String line = "x".repeat(199);
        try (AccessLog log = new AccessLog(dir)) {
            loop.submit(() -> {
                byte[] bytes = line.getBytes(StandardCharsets.ISO_8859_1);
                for (int i = 0; i < 1000; i++) { // 200 KB: several pieces handed over full
                    log.log(loop, "big", bytes, bytes.length);
                }
            }).get(5, TimeUnit.SECONDS);
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        String written = read(dir.resolve("big.access.log"));
        assertThat(written).hasSize(200 * 1000);
        assertThat(written.split("\n")).hasSize(1000).allMatch(line::equals);
    }

    private static void await(java.util.function.BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 250 && !condition.getAsBoolean(); i++) {
            Thread.sleep(20);
        }
    }

    private static String quietly(Path file) {
        try {
            return read(file);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aFullLogBecomesPartOneOlderPartsMoveUpAndTheOldestBeyondKeepGoes() throws Exception {
        EventLoop loop = new DefaultEventLoop();
        Path current = dir.resolve("shop.access.log");
        try (AccessLog log = new AccessLog(new AccessLog.Settings(dir, 20, 2))) {
            for (String line : new String[] {"line one 0123456789", "line two 0123456789", "line three 01234567",
                "line four 012345678"}) {
                log(log, loop, "shop", line);
                // Each line reaches 20 bytes alone (with its newline): the file is rotated after each.
                await(() -> quietly(dir.resolve("shop.access.log.1")).equals(line + "\n"));
                assertThat(quietly(dir.resolve("shop.access.log.1"))).isEqualTo(line + "\n");
            }
            assertThat(read(dir.resolve("shop.access.log.2"))).isEqualTo("line three 01234567\n");
            assertThat(dir.resolve("shop.access.log.3")).doesNotExist();
            assertThat(current).doesNotExist(); // the next line starts it afresh

            log(log, loop, "shop", "short");
            await(() -> quietly(current).equals("short\n"));
            assertThat(read(current)).isEqualTo("short\n");
            assertThat(read(dir.resolve("shop.access.log.1"))).isEqualTo("line four 012345678\n");
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    @Test
    void aLogFoundAtStartCountsWithItsSizeAndKeepZeroOnlyStartsAfresh() throws Exception {
        EventLoop loop = new DefaultEventLoop();
        Path current = dir.resolve("shop.access.log");
        Files.writeString(current, "x".repeat(90) + "\n"); // written by an earlier run
        try (AccessLog log = new AccessLog(new AccessLog.Settings(dir, 100, 0))) {
            log(log, loop, "shop", "123456789"); // 101 bytes now: over the limit, and nothing is kept
            await(() -> !Files.exists(current));
            assertThat(current).doesNotExist();
            assertThat(dir.resolve("shop.access.log.1")).doesNotExist();
            log(log, loop, "shop", "next");
            await(() -> quietly(current).equals("next\n"));
            assertThat(read(current)).isEqualTo("next\n");
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    @Test
    void anotherDirectoryTakesTheLinesFromTheChangeOn() throws Exception {
        EventLoop loop = new DefaultEventLoop();
        Path moved = dir.resolve("moved");
        try (AccessLog log = new AccessLog(dir)) {
            log(log, loop, "shop", "before");
            await(() -> quietly(dir.resolve("shop.access.log")).equals("before\n"));
            log.use(AccessLog.Settings.unrotated(moved));
            log(log, loop, "shop", "after");
            await(() -> quietly(moved.resolve("shop.access.log")).equals("after\n"));
            assertThat(read(moved.resolve("shop.access.log"))).isEqualTo("after\n");
            assertThat(read(dir.resolve("shop.access.log"))).isEqualTo("before\n");
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    @Test
    void rotationSettingsAreChecked() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new AccessLog.Settings(dir, 0, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxBytes 0");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new AccessLog.Settings(dir, 10, -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keep -1");
    }

    @Test
    void clientTextIsKeptToOneLineAndShownAsItsBytes() {
        LogLine line = LogLine.start().plain("1.2.3.4 ").quoted("a\"b\\c\r\nd\u0001\u007fé\u2603").plain(' ').quoted(null);
        String text = new String(line.bytes(), 0, line.length(), StandardCharsets.ISO_8859_1);
        assertThat(text).isEqualTo("1.2.3.4 a\\\"b\\\\c\\x0d\\x0ad\\x01\\x7fé\\x3f -");
    }

    @Test
    void theTimeOfALineIsTheWallClockSecondOfTheRequestsStart() {
        for (long agoMillis : new long[] {0, 3_000, 1_500, 0, 61_000}) {
            long before = System.currentTimeMillis() - agoMillis;
            String text = AccessLogHandler.ClfClock.format(System.nanoTime() - agoMillis * 1_000_000);
            long after = System.currentTimeMillis() - agoMillis;
            java.util.Set<String> possible = new java.util.HashSet<>();
            for (long second = Math.floorDiv(before, 1000); second <= Math.floorDiv(after, 1000); second++) {
                possible.add(AccessLogHandler.ClfClock.ofSecond(second));
            }
            assertThat(possible).as("%d ms ago", agoMillis).contains(text);
        }
    }
}
