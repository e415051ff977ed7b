package dev.emperor.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class StrictRequestDecoderTest {

    private static final String PLAIN = "GET /a HTTP/1.1\r\nHost: x.test\r\nX-A: one two\r\n\r\n";
    private static final String FOLDED = "GET /a HTTP/1.1\r\nHost: x.test\r\nX-A: one\r\n two\r\n\r\n";
    private static final String FOLDED_TAB = "GET /a HTTP/1.1\r\nHost: x.test\r\nX-A: one\r\n\ttwo\r\n\r\n";

    /** The request the decoder makes of {@code head} fed in two pieces split at {@code split}. */
    private static HttpRequest decode(String head, int split) {
        EmbeddedChannel channel = new EmbeddedChannel(new StrictRequestDecoder(8192, TimeUnit.SECONDS.toNanos(10)));
        byte[] bytes = head.getBytes(StandardCharsets.ISO_8859_1);
        channel.writeInbound(Unpooled.wrappedBuffer(bytes, 0, split));
        assertThat((Object) channel.readInbound()).as("nothing before the head is whole").isNull();
        channel.writeInbound(Unpooled.wrappedBuffer(bytes, split, bytes.length - split));
        HttpRequest request = channel.readInbound();
        Object rest;
        while ((rest = channel.readInbound()) != null) {
            ReferenceCountUtil.release(rest);
        }
        channel.finishAndReleaseAll();
        return request;
    }

    @Test
    void aHeadSplitAnywhereIsDecodedAndAFoldSplitAnywhereIsRefused() {
        for (int split = 1; split < PLAIN.length(); split++) {
            HttpRequest request = decode(PLAIN, split);
            assertThat(request.decoderResult().isSuccess()).as("split at %d", split).isTrue();
            assertThat(request.headers().get("X-A")).isEqualTo("one two");
        }
        for (String folded : new String[] {FOLDED, FOLDED_TAB}) {
            for (int split = 1; split < folded.length(); split++) {
                HttpRequest request = decode(folded, split);
                assertThat(request.decoderResult().isFailure()).as("split at %d", split).isTrue();
            }
        }
    }

    @Test
    void aRequestWithoutABodyIsOneMessageAndOneWithABodyIsAHeadThenItsContent() {
        EmbeddedChannel channel = new EmbeddedChannel(new StrictRequestDecoder(8192, TimeUnit.SECONDS.toNanos(10)));
        channel.writeInbound(Unpooled.copiedBuffer(PLAIN
                + "POST /b HTTP/1.1\r\nHost: x.test\r\nContent-Length: 3\r\n\r\nabc"
                + "GET /c HTTP/1.1\r\nHost: x.test\r\nContent-Length: 0\r\n\r\n", StandardCharsets.ISO_8859_1));
        Object first = channel.readInbound();
        assertThat(first).isInstanceOf(FullHttpRequest.class);
        assertThat(((FullHttpRequest) first).uri()).isEqualTo("/a");
        assertThat(((FullHttpRequest) first).headers().get("X-A")).isEqualTo("one two");
        Object post = channel.readInbound();
        assertThat(post).isInstanceOf(HttpRequest.class).isNotInstanceOf(LastHttpContent.class);
        LastHttpContent body = channel.readInbound();
        assertThat(body.content().toString(StandardCharsets.ISO_8859_1)).isEqualTo("abc");
        body.release();
        Object third = channel.readInbound();
        assertThat(third).isInstanceOf(FullHttpRequest.class);
        assertThat(((HttpRequest) third).uri()).isEqualTo("/c");
        assertThat((Object) channel.readInbound()).isNull();
        assertThat(channel.finishAndReleaseAll()).isFalse();
    }

    @Test
    void aStartedHeadMustFinishWithinTheTimeoutButBodiesAndTimeBetweenRequestsAreNotTimed() {
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.freezeTime();
        channel.pipeline().addLast(new StrictRequestDecoder(8192, TimeUnit.SECONDS.toNanos(10)));
        channel.writeInbound(ascii("POST /b HTTP/1.1\r\nHost: x.test\r\nContent-Length: 3\r\n\r\na"));
        waitSeconds(channel, 11);
        assertThat(channel.isOpen()).as("a slow body is the rate guard's business").isTrue();
        channel.writeInbound(ascii("bc"));
        waitSeconds(channel, 11);
        assertThat(channel.isOpen()).as("between requests the idle timeout rules").isTrue();
        channel.writeInbound(ascii("GET /c HTTP/1.1\r\nHo"));
        waitSeconds(channel, 9);
        channel.writeInbound(ascii("st: x.test\r\n")); // more of the head does not restart the clock
        assertThat(channel.isOpen()).isTrue();
        waitSeconds(channel, 2);
        assertThat(channel.isOpen()).as("the head took over 10 s").isFalse();
        channel.finishAndReleaseAll();
    }

    @Test
    void aHeadThatFinishesInTimeIsNotCutOffLater() {
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.freezeTime();
        channel.pipeline().addLast(new StrictRequestDecoder(8192, TimeUnit.SECONDS.toNanos(10)));
        channel.writeInbound(ascii("GET /a HTTP/1.1\r\n"));
        waitSeconds(channel, 9);
        channel.writeInbound(ascii("Host: x.test\r\n\r\n"));
        waitSeconds(channel, 30);
        assertThat(channel.isOpen()).isTrue();
        assertThat(channel.finishAndReleaseAll()).isTrue(); // the request was decoded
    }

    private static io.netty.buffer.ByteBuf ascii(String text) {
        return Unpooled.copiedBuffer(text, StandardCharsets.ISO_8859_1);
    }

    private static void waitSeconds(EmbeddedChannel channel, int seconds) {
        channel.advanceTimeBy(seconds, TimeUnit.SECONDS);
        channel.runScheduledPendingTasks();
    }
}
