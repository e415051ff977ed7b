package dev.emperor.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * One bodiless request head decoded as the proxy decodes it ({@link StrictRequestDecoder}:
 * the obs-fold scan, then {@link BodilessRequestHead}) against Netty's strict decoder alone,
 * same settings. Heads: wrk's (one header) and a browser's (eleven). Run like
 * {@link ResponseParserBench}, with {@code RequestDecoderBench}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Dio.netty.leakDetection.level=disabled") // as the daemon runs
public class RequestDecoderBench {

    private static final String WRK = "GET /small HTTP/1.1\r\nHost: bench.test\r\n\r\n";
    private static final String BROWSER = "GET /assets/app.js?v=3 HTTP/1.1\r\nHost: shop.example.com\r\n"
            + "Connection: keep-alive\r\nsec-ch-ua-platform: \"Linux\"\r\n"
            + "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n"
            + "Accept: */*\r\nSec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Dest: script\r\n"
            + "Referer: https://shop.example.com/\r\nAccept-Encoding: gzip, deflate, br\r\n"
            + "Accept-Language: en-GB,en;q=0.9\r\n\r\n";

    @Param({"wrk", "browser"})
    public String head;

    @Param({"emperor", "netty"})
    public String decoder;

    private ByteBuf bytes;
    private EmbeddedChannel channel;

    @Setup
    public void setUp() {
        bytes = Unpooled.directBuffer().writeBytes((head.equals("wrk") ? WRK : BROWSER).getBytes(StandardCharsets.ISO_8859_1));
        channel = new EmbeddedChannel(decoder.equals("emperor") ? new StrictRequestDecoder(16 * 1024, TimeUnit.SECONDS.toNanos(20))
                : new HttpRequestDecoder(StrictRequestDecoder.config(16 * 1024)));
    }

    @TearDown
    public void tearDown() {
        channel.finishAndReleaseAll();
        bytes.release();
    }

    @Benchmark
    public void decode(Blackhole hole) {
        channel.writeInbound(bytes.retainedDuplicate());
        Object message;
        while ((message = channel.readInbound()) != null) {
            hole.consume(message);
            ReferenceCountUtil.release(message);
        }
    }
}
