package dev.emperor.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fast path may only ever accept less than Netty's strict decoder, and read what it
 * accepts exactly as Netty does: checked against Netty itself on a corpus and on random
 * mutations of it.
 */
class BodilessRequestHeadTest {

    private static final int MAX_HEADER_BYTES = 512;

    private static final List<String> PLAIN = List.of(
            "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n",
            "GET /small HTTP/1.1\r\nHost: bench.test\r\n\r\n",
            "HEAD /x?y=1&z=%20 HTTP/1.0\r\n\r\n",
            "DELETE /item/7 HTTP/1.1\r\nHost: a.test\r\nAccept: */*\r\nUser-Agent: curl/7.88.1\r\n\r\n",
            "GET /ws HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            "GET / HTTP/1.1\r\nHost:a.test\r\nX-Empty:\r\nX-Spaces:   padded \t \r\nX-Tab:\tin\tside\r\n\r\n",
            "OPTIONS * HTTP/1.1\r\nHost: a.test\r\nX-Latin: caf\u00e9\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a.test\r\nhost: b.test\r\n\r\n");

    private static final List<String> FOR_THE_DECODER = List.of(
            "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 0\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a.test\r\ntransfer-encoding : chunked\r\n\r\n",
            "GET / HTTP/2.0\r\nHost: a.test\r\n\r\n",
            "GET  / HTTP/1.1\r\nHost: a.test\r\n\r\n",
            "GET / HTTP/1.1 \r\nHost: a.test\r\n\r\n",
            "GET / HTTP/1.1\r\nHost : a.test\r\n\r\n",
            "GET / HTTP/1.1\r\nHo st: a.test\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\u0000.test\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a.test\r\nX: a\rb\r\n\r\n",
            "GET /\u00e9 HTTP/1.1\r\nHost: a.test\r\n\r\n",
            "\r\nGET / HTTP/1.1\r\nHost: a.test\r\n\r\n",
            "GET / HTTP/1.1\r\nX: " + "v".repeat(MAX_HEADER_BYTES) + "\r\n\r\n",
            "GET /" + "p".repeat(StrictRequestDecoder.MAX_REQUEST_LINE) + " HTTP/1.1\r\n\r\n");

    private static FullHttpRequest fast(byte[] head) {
        return BodilessRequestHead.parse(head, head.length, StrictRequestDecoder.MAX_REQUEST_LINE, MAX_HEADER_BYTES);
    }

    /** What Netty's strict decoder makes of {@code head}: the request, or null if it refuses it or wants a body. */
    private static HttpRequest netty(byte[] head) {
        EmbeddedChannel channel = new EmbeddedChannel(new HttpRequestDecoder(StrictRequestDecoder.config(MAX_HEADER_BYTES)));
        try {
            channel.writeInbound(Unpooled.wrappedBuffer(head));
            Object first = channel.readInbound();
            Object second = channel.readInbound();
            boolean whole = first instanceof HttpRequest request && request.decoderResult().isSuccess()
                    && second == LastHttpContent.EMPTY_LAST_CONTENT && channel.inboundMessages().isEmpty();
            ReferenceCountUtil.release(second);
            return whole ? (HttpRequest) first : null;
        } finally {
            channel.finishAndReleaseAll();
        }
    }

    private static List<String> fields(HttpRequest request) {
        List<String> out = new ArrayList<>();
        out.add(request.method().name());
        out.add(request.uri());
        out.add(request.protocolVersion().text());
        for (Map.Entry<String, String> header : request.headers()) {
            out.add(header.getKey() + "=" + header.getValue());
        }
        return out;
    }

    /** Whatever the fast path accepts, Netty accepts as one bodiless request and reads the same. */
    private static boolean checkAgreement(byte[] head) {
        FullHttpRequest quick = fast(head);
        if (quick == null) {
            return false;
        }
        HttpRequest reference = netty(head);
        assertThat(reference).as("Netty refuses what the fast path took: %s",
                new String(head, StandardCharsets.ISO_8859_1)).isNotNull();
        assertThat(fields(quick)).isEqualTo(fields(reference));
        return true;
    }

    @Test
    void plainBodilessHeadsTakeTheFastPathAndReadAsNettyReadsThem() {
        for (String head : PLAIN) {
            assertThat(checkAgreement(head.getBytes(StandardCharsets.ISO_8859_1))).as(head).isTrue();
        }
    }

    @Test
    void bodiesOddFormsAndHostileBytesAreLeftToTheStrictDecoder() {
        for (String head : FOR_THE_DECODER) {
            assertThat(fast(head.getBytes(StandardCharsets.ISO_8859_1))).as(head).isNull();
        }
    }

    @Test
    void randomlyDamagedHeadsAreNeverAcceptedWhereNettyRefusesThem() {
        Random random = new Random(20261124);
        byte[] interesting = {'\r', '\n', ' ', '\t', ':', 0, 0x7f, (byte) 0xe9, 'a', '0', ',', '"', 0x0b};
        int fastAccepted = 0;
        for (int round = 0; round < 20_000; round++) {
            byte[] base = PLAIN.get(random.nextInt(PLAIN.size())).getBytes(StandardCharsets.ISO_8859_1);
            byte[] head = base.clone();
            int edits = 1 + random.nextInt(3);
            for (int e = 0; e < edits; e++) {
                int at = random.nextInt(head.length - 4); // keep the final blank line
                byte b = random.nextBoolean() ? interesting[random.nextInt(interesting.length)] : (byte) random.nextInt(256);
                if (random.nextBoolean()) {
                    head[at] = b;
                } else {
                    byte[] longer = new byte[head.length + 1];
                    System.arraycopy(head, 0, longer, 0, at);
                    longer[at] = b;
                    System.arraycopy(head, at, longer, at + 1, head.length - at);
                    head = longer;
                }
            }
            if (checkAgreement(head)) {
                fastAccepted++;
            }
        }
        assertThat(fastAccepted).as("damage that leaves a head well-formed still takes the fast path").isPositive();
    }
}
