package dev.emperor.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ResponseParserTest {

    /** What the parser told its listener about one response. */
    static final class Recorder implements ResponseParser.Listener {
        int status = -1;
        ResponseHead.Framing framing;
        String clientHead;
        final ByteArrayOutputStream body = new ByteArrayOutputStream();
        long ended = -1;
        String malformed;
        boolean keepAlive;
        /** The head as written in place into the buffer it arrived in, if it was. */
        String inPlaceHead;

        @Override
        public boolean head(ResponseHead head, ResponseHead.Framing framing, ByteBuf arrivedIn) {
            status = head.status();
            this.framing = framing;
            keepAlive = head.keepAlive();
            ResponseHead.Framing out = framing == ResponseHead.Framing.CLOSE ? ResponseHead.Framing.CHUNKED : framing;
            ByteBuf encoded = head.encode(ByteBufAllocator.DEFAULT, out, false);
            clientHead = encoded.toString(StandardCharsets.ISO_8859_1);
            encoded.release();
            if (arrivedIn != null && status != 101) {
                // As the forwarder does: the same head, over the app's spent one.
                int end = arrivedIn.readerIndex();
                int start = head.encodeInPlace(arrivedIn, out, false);
                if (start >= 0) {
                    inPlaceHead = arrivedIn.toString(start, end - start, StandardCharsets.ISO_8859_1);
                    if (framing == ResponseHead.Framing.LENGTH && arrivedIn.readableBytes() >= head.contentLength()) {
                        // ...and, as it does, takes the body from there: the parser must skip it.
                        body.writeBytes(ByteBufUtil.getBytes(arrivedIn, end, (int) head.contentLength()));
                        return true;
                    }
                }
            }
            return false;
        }

        @Override
        public void body(ByteBuf bytes) {
            byte[] copy = new byte[bytes.readableBytes()];
            bytes.readBytes(copy);
            bytes.release();
            body.writeBytes(copy);
        }

        @Override
        public void end(long payloadBytes) {
            ended = payloadBytes;
        }

        @Override
        public void malformed(String why) {
            malformed = why;
        }

        String body() {
            return body.toString(StandardCharsets.ISO_8859_1);
        }
    }

    private static Recorder parse(String response, boolean headRequest, boolean payloadOnly, int... splits) {
        ResponseParser parser = new ResponseParser();
        Recorder recorder = new Recorder();
        parser.expect(recorder, headRequest, payloadOnly);
        byte[] bytes = response.getBytes(StandardCharsets.ISO_8859_1);
        int from = 0;
        for (int split : splits) {
            feed(parser, bytes, from, split);
            from = split;
        }
        feed(parser, bytes, from, bytes.length);
        return recorder;
    }

    private static void feed(ResponseParser parser, byte[] bytes, int from, int to) {
        ByteBuf in = Unpooled.directBuffer(to - from).writeBytes(bytes, from, to - from);
        parser.feed(in);
        assertThat(in.refCnt()).isEqualTo(1); // slices handed on were retained, and released
        in.release();
    }

    private static Recorder parse(String response) {
        return parse(response, false, false);
    }

    private static final String CHUNKED = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n";
    private static final String CHUNKED_FRAMING = "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n";
    private static final String LENGTH = "HTTP/1.1 201 Created\r\nContent-Length: 12\r\nX-App: a\r\n\r\nhello, world";

    @Test
    void aContentLengthBodyEndsAfterItsLength() {
        Recorder r = parse(LENGTH);
        assertThat(r.status).isEqualTo(201);
        assertThat(r.framing).isEqualTo(ResponseHead.Framing.LENGTH);
        assertThat(r.body()).isEqualTo("hello, world");
        assertThat(r.ended).isEqualTo(12);
        assertThat(r.keepAlive).isTrue();
        assertThat(r.clientHead).isEqualTo("HTTP/1.1 201 Created\r\nContent-Length: 12\r\nX-App: a\r\n\r\n");
        assertThat(r.inPlaceHead).isEqualTo(r.clientHead);
    }

    @Test
    void aHeadIsRewrittenInPlaceOnlyWhenTheClientsVersionFits() {
        Recorder shorter = parse("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi");
        assertThat(shorter.inPlaceHead).isEqualTo(shorter.clientHead)
                .isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
        assertThat(shorter.body()).isEqualTo("hi"); // the body after it is untouched
        Recorder longer = parse("HTTP/1.1 200 OK\r\n\r\nhi"); // close-delimited: the client's says chunked
        assertThat(longer.clientHead).contains("Transfer-Encoding: chunked");
        assertThat(longer.inPlaceHead).isNull();
    }

    @Test
    void chunkedBodiesPassWithTheirFramingOrAsPayloadOnly() {
        Recorder raw = parse(CHUNKED);
        assertThat(raw.body()).isEqualTo(CHUNKED_FRAMING);
        assertThat(raw.ended).isEqualTo(12);
        assertThat(raw.clientHead).isEqualTo("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");

        Recorder payload = parse(CHUNKED, false, true);
        assertThat(payload.body()).isEqualTo("hello, world");
        assertThat(payload.ended).isEqualTo(12);
    }

    @Test
    void responsesSplitAtEveryByteParseTheSame() {
        for (String response : new String[] {LENGTH, CHUNKED}) {
            Recorder whole = parse(response);
            for (int split = 1; split < response.length(); split++) {
                Recorder r = parse(response, false, false, split);
                assertThat(r.malformed).as("split at %d", split).isNull();
                assertThat(r.body()).as("split at %d", split).isEqualTo(whole.body());
                assertThat(r.ended).as("split at %d", split).isEqualTo(whole.ended);
                assertThat(r.clientHead).isEqualTo(whole.clientHead);
                // In place only when the head arrived in one piece, and then the same bytes.
                int headEnd = response.indexOf("\r\n\r\n") + 4;
                assertThat(r.inPlaceHead).as("split at %d", split).isEqualTo(split >= headEnd ? whole.clientHead : null);
            }
            int[] everyByte = new int[response.length() - 1];
            for (int i = 0; i < everyByte.length; i++) {
                everyByte[i] = i + 1;
            }
            Recorder bytewise = parse(response, false, true, everyByte);
            assertThat(bytewise.body()).isEqualTo("hello, world");
            assertThat(bytewise.ended).isEqualTo(12);
        }
    }

    @Test
    void hopByHopHeadersAndThoseConnectionNamesAreDropped() {
        Recorder r = parse("HTTP/1.1 200 OK\r\nConnection: close, X-Secret\r\nKeep-Alive: timeout=5\r\n"
                + "X-Secret: s\r\nUpgrade: h2c\r\nTrailer: X\r\nProxy-Authenticate: Basic\r\nSet-Cookie: a=b\r\n"
                + "Content-Length: 0\r\n\r\n");
        assertThat(r.clientHead).isEqualTo("HTTP/1.1 200 OK\r\nSet-Cookie: a=b\r\nContent-Length: 0\r\n\r\n");
        assertThat(r.keepAlive).isFalse();
        assertThat(r.ended).isZero();
    }

    @Test
    void aBodyWithoutLengthEndsAtTheCloseAndGoesOutChunked() {
        ResponseParser parser = new ResponseParser();
        Recorder r = new Recorder();
        parser.expect(r, false, false);
        ByteBuf in = Unpooled.copiedBuffer("HTTP/1.0 200 OK\r\n\r\nuntil the end", StandardCharsets.ISO_8859_1);
        parser.feed(in);
        in.release();
        assertThat(r.framing).isEqualTo(ResponseHead.Framing.CLOSE);
        assertThat(r.ended).isEqualTo(-1);
        parser.inputClosed();
        assertThat(r.body()).isEqualTo("until the end");
        assertThat(r.ended).isEqualTo(13);
        assertThat(r.keepAlive).isFalse();
        assertThat(r.clientHead).isEqualTo("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    }

    @Test
    void headResponsesAnd204And304HaveNoBodyWhateverTheySay() {
        Recorder head = parse("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", true, false);
        assertThat(head.ended).isZero();
        assertThat(head.clientHead).contains("Content-Length: 99");
        assertThat(parse("HTTP/1.1 204 No Content\r\n\r\n").ended).isZero();
        assertThat(parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n").ended).isZero();
    }

    @Test
    void interimResponsesAreSkipped() {
        Recorder r = parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + LENGTH);
        assertThat(r.status).isEqualTo(201);
        assertThat(r.body()).isEqualTo("hello, world");
    }

    @Test
    void a101StopsTheParserAndLeavesTheRestUnread() {
        ResponseParser parser = new ResponseParser();
        Recorder r = new Recorder();
        parser.expect(r, false, false);
        ByteBuf in = Unpooled.copiedBuffer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\n\r\nFRAME", StandardCharsets.ISO_8859_1);
        parser.feed(in);
        assertThat(r.status).isEqualTo(101);
        assertThat(parser.upgraded()).isTrue();
        assertThat(in.toString(StandardCharsets.ISO_8859_1)).isEqualTo("FRAME");
        in.release();
    }

    @Test
    void bytesAfterTheResponseBreakTheConnection() {
        ResponseParser parser = new ResponseParser();
        Recorder r = new Recorder();
        parser.expect(r, false, false);
        ByteBuf in = Unpooled.copiedBuffer(LENGTH + "HTTP/1.1 200 OK\r\n", StandardCharsets.ISO_8859_1);
        parser.feed(in);
        in.release();
        assertThat(r.ended).isEqualTo(12);
        assertThat(parser.failed()).isTrue();
    }

    /** RFC 9112 §2.2: bare LF line ends in a response head (CGI scripts, busybox httpd) are taken as CRLF. */
    @ParameterizedTest
    @ValueSource(strings = {
            "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n",
            "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
    })
    void bareLineFeedsInAResponseHeadAreLineEnds(String response) {
        Recorder r = parse(response);
        assertThat(r.malformed).as(response).isNull();
        assertThat(r.ended).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
            "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello",
            "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\nhello\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nBad Trailer: x\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\n",
            "\nHTTP/1.1 200 OK\nContent-Length: 0\n\n",
            "HTTP/1.1 200 OK\nX-A: a\rb\nContent-Length: 0\n\n",
            "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX-A : a\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX(A): a\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX-A: a\u0000b\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 O\u0001K\r\nContent-Length: 0\r\n\r\n",
            "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 099 OK\r\nContent-Length: 0\r\n\r\n",
            "ICY 200 OK\r\n\r\n",
            "\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    })
    void hostileResponsesAreRefused(String response) {
        Recorder r = parse(response);
        assertThat(r.malformed).as(response).isNotNull();
        assertThat(r.ended).isEqualTo(-1);
    }

    @Test
    void anOversizedHeadIsRefusedWithoutWaitingForItsEnd() {
        String big = "HTTP/1.1 200 OK\r\nX-Big: " + "a".repeat(ResponseHead.MAX_BYTES) + "\r\n";
        Recorder r = parse(big, false, false, 1000, 40_000);
        assertThat(r.malformed).isEqualTo("response head too large");
        Recorder fits = parse("HTTP/1.1 200 OK\r\nX-Big: " + "a".repeat(ResponseHead.MAX_BYTES - 100)
                + "\r\nContent-Length: 0\r\n\r\n");
        assertThat(fits.malformed).isNull();
        assertThat(fits.ended).isZero();
    }

    @Test
    void theParserIsReusedForTheNextResponseOnTheConnection() {
        ResponseParser parser = new ResponseParser();
        for (String response : new String[] {LENGTH, CHUNKED, LENGTH}) {
            Recorder r = new Recorder();
            parser.expect(r, false, true);
            ByteBuf in = Unpooled.copiedBuffer(response, StandardCharsets.ISO_8859_1);
            parser.feed(in);
            in.release();
            assertThat(r.body()).isEqualTo("hello, world");
            assertThat(parser.idle()).isTrue();
        }
    }
}
