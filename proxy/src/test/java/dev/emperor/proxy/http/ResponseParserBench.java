package dev.emperor.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
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
 * One upstream response through the byte-level path, as the proxy runs it per request: the
 * head parsed, rewritten for the client into a new buffer, the body passed on as a slice, the
 * end found. Responses: nginx's for a small static file (Content-Length), and a chunked one.
 * It lives in the http package (the parser is package-private), beside bench/SiteTableBench:
 * <pre>
 *   mvn -q -B -ntp -pl proxy -am test-compile
 *   cd proxy &amp;&amp; mvn -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench.classpath
 *   java -cp target/classes:target/test-classes:$(cat target/bench.classpath) org.openjdk.jmh.Main ResponseParserBench
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Dio.netty.leakDetection.level=disabled") // as the daemon runs
public class ResponseParserBench {

    private static final String NGINX = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 24 Nov 2026 00:05:24 GMT\r\n"
            + "Content-Type: application/octet-stream\r\nContent-Length: 13\r\nLast-Modified: Tue, 24 Nov 2026 00:03:00 GMT\r\n"
            + "Connection: keep-alive\r\nETag: \"6742a0f4-d\"\r\nAccept-Ranges: bytes\r\n\r\nhello world!\n";
    private static final String CHUNKED = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            + "Transfer-Encoding: chunked\r\nVary: Accept-Encoding\r\n\r\n"
            + "d\r\nhello world!\n\r\n0\r\n\r\n";

    @Param({"length", "chunked"})
    public String kind;

    private byte[] bytes;
    private ByteBuf response;
    private final ResponseParser parser = new ResponseParser();
    private Sink sink;

    /** Does with each part what the forwarder does: the new head is made, buffers released. */
    static final class Sink implements ResponseParser.Listener {
        final Blackhole hole;

        Sink(Blackhole hole) {
            this.hole = hole;
        }

        @Override
        public boolean head(ResponseHead head, ResponseHead.Framing framing, ByteBuf arrivedIn) {
            // As the forwarder: the client's head over the app's in its buffer, the body with it.
            if (arrivedIn != null && framing == ResponseHead.Framing.LENGTH
                    && arrivedIn.readableBytes() >= head.contentLength()
                    && head.encodeInPlace(arrivedIn, framing, false) >= 0) {
                return true;
            }
            ByteBuf out = head.encode(ByteBufAllocator.DEFAULT, framing, false);
            hole.consume(out.readableBytes());
            out.release();
            return false;
        }

        @Override
        public void body(ByteBuf bytes) {
            hole.consume(bytes.readableBytes());
            bytes.release();
        }

        @Override
        public void end(long payloadBytes) {
            hole.consume(payloadBytes);
        }

        @Override
        public void malformed(String why) {
            throw new IllegalStateException(why);
        }
    }

    @Setup
    public void setUp(Blackhole hole) {
        bytes = (kind.equals("length") ? NGINX : CHUNKED).getBytes(StandardCharsets.ISO_8859_1);
        response = ByteBufAllocator.DEFAULT.directBuffer(bytes.length).writeBytes(bytes);
        sink = new Sink(hole);
    }

    @TearDown
    public void tearDown() {
        response.release();
    }

    @Benchmark
    public void parseAndRewrite() {
        parser.expect(sink, false, false);
        parser.feed(response.setBytes(0, bytes).readerIndex(0)); // as read anew: heads are rewritten in place
    }
}
