package dev.emperor.proxy.http;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An HTTP/2 stream's response as objects for its codec. The end (and a stalled stream) is
 * covered with real HTTP/2 clients by Http2ForwardingTest: it asks the connection's
 * StalledStreamGuard, which only a real stream channel has.
 */
class Http2ResponseWriterTest {

    private final EmbeddedChannel stream = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
    private final Http2ResponseWriter writer = new Http2ResponseWriter(stream.pipeline().firstContext());

    @AfterEach
    void close() {
        stream.finishAndReleaseAll();
    }

    @Test
    void theHeadAndTheChunkedBodyGoAsObjectsWithoutTheAppsChunkFraming() {
        HttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
        writer.begin(request, false);
        assertThat(writer.payloadOnly()).isTrue();
        ResponseParser parser = new ResponseParser();
        parser.expect(new ResponseParser.Listener() {
            @Override
            public boolean head(ResponseHead head, ResponseHead.Framing framing, ByteBuf arrivedIn) {
                return writer.head(head, framing, arrivedIn);
            }

            @Override
            public void body(ByteBuf bytes) {
                assertThat(writer.body(bytes)).isTrue();
            }

            @Override
            public void end(long payloadBytes) {
            }

            @Override
            public void malformed(String why) {
                throw new AssertionError(why);
            }
        }, false, writer.payloadOnly());
        ByteBuf fromApp = Unpooled.copiedBuffer(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-App: 1\r\n\r\n3\r\nabc\r\n0\r\n\r\n", US_ASCII);
        parser.feed(fromApp);
        fromApp.release();
        stream.flushOutbound();

        HttpResponse head = stream.readOutbound();
        assertThat(head.status().code()).isEqualTo(200);
        assertThat(head.headers().get("X-App")).isEqualTo("1");
        assertThat(head.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)).isFalse(); // hop-by-hop
        HttpContent body = stream.readOutbound();
        assertThat(body).isNotInstanceOf(LastHttpContent.class);
        assertThat(body.content().toString(US_ASCII)).isEqualTo("abc");
        body.release();
        assertThat(stream.outboundMessages()).isEmpty();
        assertThat(writer.closeAfter()).isFalse(); // the stream ends, the connection stays
    }

    @Test
    void aStreamIsNeverUpgradedNorSentContinue() {
        HttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/");
        request.headers().set(HttpHeaderNames.CONNECTION, "Upgrade").set(HttpHeaderNames.UPGRADE, "websocket")
                .set(HttpHeaderNames.EXPECT, "100-continue");
        assertThat(writer.upgradable(request)).isFalse();
        writer.begin(request, true);
        assertThat(stream.outboundMessages()).isEmpty();
        assertThatThrownBy(() -> writer.switched(new ResponseHead())).isInstanceOf(IllegalStateException.class);
    }
}
