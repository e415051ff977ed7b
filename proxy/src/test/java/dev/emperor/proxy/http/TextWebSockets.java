package dev.emperor.proxy.http;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/** A JDK WebSocket client for tests: every text message it receives goes into a queue. */
final class TextWebSockets {

    private TextWebSockets() {}

    /** Opens {@code ws://127.0.0.1:PORT/ws} (Host 127.0.0.1) within 10 s. */
    static WebSocket open(int port, BlockingQueue<String> received) throws Exception {
        return HttpClient.newHttpClient().newWebSocketBuilder()
                .buildAsync(URI.create("ws://127.0.0.1:" + port + "/ws"), new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                        received.add(data.toString());
                        webSocket.request(1);
                        return null;
                    }
                }).get(10, TimeUnit.SECONDS);
    }
}
