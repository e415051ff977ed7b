package dev.emperor.proxy.http;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The HTTP/1.x client's bytes for each kind of response, from the app's bytes through a real parser. */
class Http1ResponseWriterTest {

    private final EmbeddedChannel client = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
    private final ChannelHandlerContext ctx = client.pipeline().firstContext();
    /** What the writer told the access log and the gate: status, body bytes. */
    private final List<long[]> written = new ArrayList<>();
    private final Http1ResponseWriter writer = new Http1ResponseWriter(ctx,
            (status, bytes) -> written.add(new long[] {status, bytes}));
    private final ResponseParser parser = new ResponseParser();
    private boolean bodyTaken;

    @AfterEach
    void close() {
        client.finishAndReleaseAll();
    }

    @Test
    void aSmallResponseInOneReadLeavesAsOneSliceOfThatBufferWithItsHeadRewritten() {
        begin(get(HttpVersion.HTTP_1_1));
        ByteBuf fromApp = Unpooled.directBuffer().writeBytes(
                "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5\r\nServer: app\r\n\r\nhello"
                        .getBytes(US_ASCII));
        parser.feed(fromApp);
        client.runPendingTasks();

        assertThat(bodyTaken).isTrue();
        ByteBuf out = client.readOutbound();
        assertThat(client.outboundMessages()).isEmpty(); // one write, one send
        assertThat(out.unwrap()).isSameAs(fromApp); // nothing copied
        assertThat(out.toString(US_ASCII))
                .isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: app\r\n\r\nhello");
        out.release();
        fromApp.release();
        assertThat(written).containsExactly(new long[] {200, 5});
        assertThat(writer.closeAfter()).isFalse();
    }

    @Test
    void aSmallBodyInALaterReadIsCopiedInBehindItsHeldHead() {
        begin(get(HttpVersion.HTTP_1_1));
        feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
        assertThat(client.outboundMessages()).isEmpty(); // held for its body
        feed("hel");
        feed("lo");
        client.runPendingTasks();

        assertThat(bodyTaken).isFalse();
        assertThat(outbound()).containsExactly("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    }

    @Test
    void aBodyEndedByTheAppsCloseGoesToAnHttp11ClientInTheProxysChunks() {
        begin(get(HttpVersion.HTTP_1_1));
        feed("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc");
        parser.inputClosed();
        client.runPendingTasks();

        assertThat(String.join("", outbound()))
                .isEqualTo("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
        assertThat(writer.closeAfter()).isFalse(); // the chunks end it: the client connection stays
        assertThat(written).containsExactly(new long[] {200, 3});
    }

    @Test
    void anHttp10ClientGetsTheBodyAsItCameAndTheCloseEndsIt() {
        begin(get(HttpVersion.HTTP_1_0));
        assertThat(writer.payloadOnly()).isTrue(); // it knows no chunks
        feed("HTTP/1.1 200 OK\r\n\r\nabc");
        parser.inputClosed();
        client.runPendingTasks();

        assertThat(String.join("", outbound())).startsWith("HTTP/1.1 200 OK\r\n").endsWith("\r\n\r\nabc")
                .doesNotContain("chunked");
        assertThat(writer.closeAfter()).isTrue();
    }

    @Test
    void aClientThatAskedToCloseIsToldSoAndClosedAfter() {
        HttpRequest request = get(HttpVersion.HTTP_1_1);
        request.headers().set(HttpHeaderNames.CONNECTION, "close");
        begin(request);
        feed("HTTP/1.1 204 No Content\r\n\r\n");
        client.runPendingTasks();

        assertThat(String.join("", outbound())).contains("Connection: close\r\n");
        assertThat(writer.closeAfter()).isTrue();
    }

    @Test
    void continueGoesOnlyToAClientThatStillOwesTheBodyAndWaitsForIt() {
        HttpRequest post = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/");
        post.headers().set(HttpHeaderNames.EXPECT, "100-continue").set(HttpHeaderNames.CONTENT_LENGTH, 3);
        writer.begin(post, true);
        assertThat(outbound()).containsExactly("HTTP/1.1 100 Continue\r\n\r\n");
        writer.begin(post, false);
        writer.begin(get(HttpVersion.HTTP_1_1), true);
        assertThat(client.outboundMessages()).isEmpty();
    }

    @Test
    void anAbandonedResponseWritesNothingOfWhatWasHeld() {
        begin(get(HttpVersion.HTTP_1_1));
        feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhe");
        writer.abandon();
        writer.upstreamReadComplete(); // what would have sent the held head
        client.runPendingTasks();
        assertThat(client.outboundMessages()).isEmpty();
        assertThat(written).isEmpty();
    }

    @Test
    void onlyAWebSocketUpgradeIsUpgradableAndItsSwitchIsLogged() {
        HttpRequest upgrade = get(HttpVersion.HTTP_1_1);
        assertThat(writer.upgradable(upgrade)).isFalse();
        upgrade.headers().set(HttpHeaderNames.CONNECTION, "Upgrade").set(HttpHeaderNames.UPGRADE, "websocket");
        assertThat(writer.upgradable(upgrade)).isTrue();

        ResponseHead[] switched = new ResponseHead[1];
        parser.expect(new Relay() {
            @Override
            public boolean head(ResponseHead head, ResponseHead.Framing framing, ByteBuf arrivedIn) {
                switched[0] = head;
                writer.switched(head);
                return false;
            }
        }, false, false);
        feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");

        assertThat(switched[0].status()).isEqualTo(101);
        assertThat(String.join("", outbound())).startsWith("HTTP/1.1 101 Switching Protocols\r\n")
                .contains("Upgrade: websocket\r\n");
        assertThat(written).containsExactly(new long[] {101, 0});
    }

    private static HttpRequest get(HttpVersion version) {
        return new DefaultFullHttpRequest(version, HttpMethod.GET, "/");
    }

    /** As the Forwarder does for a request already read whole. */
    private void begin(HttpRequest request) {
        writer.begin(request, false);
        parser.expect(new Relay(), false, writer.payloadOnly());
    }

    private void feed(String fromApp) {
        ByteBuf in = Unpooled.copiedBuffer(fromApp, US_ASCII);
        parser.feed(in);
        in.release();
        assertThat(parser.failed()).isFalse();
    }

    private List<String> outbound() {
        List<String> out = new ArrayList<>();
        for (Object msg; (msg = client.readOutbound()) != null; ) {
            ByteBuf bytes = (ByteBuf) msg;
            out.add(bytes.toString(US_ASCII));
            bytes.release();
        }
        return out;
    }

    /** The parser's events to the writer, as the Forwarder's exchange passes them. */
    private class Relay implements ResponseParser.Listener {
        private int status;

        @Override
        public boolean head(ResponseHead head, ResponseHead.Framing framing, ByteBuf arrivedIn) {
            status = head.status();
            bodyTaken = writer.head(head, framing, arrivedIn);
            return bodyTaken;
        }

        @Override
        public void body(ByteBuf bytes) {
            writer.body(bytes);
        }

        @Override
        public void end(long payloadBytes) {
            writer.end(status, payloadBytes);
        }

        @Override
        public void malformed(String why) {
            throw new AssertionError(why);
        }
    }
}
