package dev.emperor.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class LoopFlushesTest {

    private static ByteBuf text(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    @Test
    void writesLeaveOnlyOnceTheLoopHasRunItsBatchThenAllOfThem() {
        EmbeddedChannel app = new EmbeddedChannel();
        EmbeddedChannel client = new EmbeddedChannel();
        app.write(text("GET / HTTP/1.1\r\n\r\n"));
        LoopFlushes.flushSoon(app);
        client.write(text("HTTP/1.1 200 OK\r\n\r\n"));
        LoopFlushes.flushSoon(client);
        LoopFlushes.flushSoon(app); // asked twice: still one flush, nothing sent twice

        assertThat((Object) app.readOutbound()).isNull();
        assertThat((Object) client.readOutbound()).isNull();

        app.runPendingTasks();
        ByteBuf request = app.readOutbound();
        ByteBuf response = client.readOutbound();
        assertThat(request.toString(StandardCharsets.US_ASCII)).isEqualTo("GET / HTTP/1.1\r\n\r\n");
        assertThat(response.toString(StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 200 OK\r\n\r\n");
        assertThat((Object) app.readOutbound()).isNull();
        request.release();
        response.release();
        app.finishAndReleaseAll();
        client.finishAndReleaseAll();
    }

    @Test
    void aClosedChannelInTheBatchDoesNotStopTheOthers() {
        EmbeddedChannel closed = new EmbeddedChannel();
        EmbeddedChannel open = new EmbeddedChannel();
        LoopFlushes.flushSoon(closed);
        open.write(text("x"));
        LoopFlushes.flushSoon(open);
        closed.close();

        open.runPendingTasks();
        ByteBuf sent = open.readOutbound();
        assertThat(sent.toString(StandardCharsets.US_ASCII)).isEqualTo("x");
        sent.release();
        open.finishAndReleaseAll();
    }
}
