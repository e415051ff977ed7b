package dev.emperor.proxy.http;

import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One access log line as the proxy writes it per request: assembled by {@link LogLine} and
 * gathered by {@link AccessLog} (its writer thread writes to /dev/null here). Run like
 * {@link ResponseParserBench}, with {@code AccessLogBench}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Dio.netty.leakDetection.level=disabled") // as the daemon runs
public class AccessLogBench {

    private static final String USER_AGENT =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";

    private Path directory;
    private AccessLog log;
    /** Its event loop is this thread: the hand-offs run here when due, as on a real loop. */
    private EmbeddedChannel channel;
    private int count;
    private long status = 200;

    @Setup
    public void setUp() throws Exception {
        directory = Files.createTempDirectory("accesslogbench");
        // The event loop's share is measured: the writer thread writes to nowhere, so that
        // page-cache writes at millions of lines a second do not take the other core.
        Files.createSymbolicLink(directory.resolve("bigco.access.log"), Path.of("/dev/null"));
        log = new AccessLog(directory);
        channel = new EmbeddedChannel();
    }

    @TearDown
    public void tearDown() throws Exception {
        log.close();
        channel.finishAndReleaseAll();
        try (var files = Files.list(directory)) {
            for (Path file : files.toList()) {
                Files.delete(file);
            }
        }
        Files.delete(directory);
    }

    @Benchmark
    public int line() {
        LogLine line = LogLine.start().plain("203.0.113.7").plain(" - - [").plain("24/Nov/2026:04:10:00 +0000")
                .plain("] \"").quoted("GET").plain(' ').quoted("/assets/app.js?v=3").plain(' ').plain("HTTP/1.1")
                .plain("\" ").number(status).plain(' ').number(13_284).plain(" \"").quoted("https://shop.example.com/")
                .plain("\" \"").quoted(USER_AGENT).plain("\" ").number(0).plain('.').plain('0').plain('0').plain('3');
        log.log(channel.eventLoop(), "bigco", line.bytes(), line.length());
        if ((++count & 1023) == 0) {
            channel.runScheduledPendingTasks();
        }
        return line.length();
    }
}
