package dev.emperor.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpRequest;

/**
 * Writes the app's responses to the client in the client's protocol, one exchange at a time:
 * the {@link Forwarder} decides what happens and when, a writer only how it looks on the wire.
 * {@link Http1ResponseWriter} writes bytes (the head rewritten in place when it can),
 * {@link Http2ResponseWriter} Netty HTTP objects for the stream's codec. One per client
 * connection (or HTTP/2 stream), used on its event loop.
 */
interface ResponseWriter {

    /** The request may switch to a byte relay (a WebSocket upgrade over HTTP/1.1). */
    boolean upgradable(HttpRequest request);

    /**
     * A new exchange for {@code request}, routed and within its limits: a client waiting for
     * 100 Continue before sending the body it still owes gets it now.
     */
    void begin(HttpRequest request, boolean bodyOwed);

    /** The client takes a chunked body without the app's chunk framing ({@link ResponseParser#expect}). */
    boolean payloadOnly();

    /** The response head; see {@link ResponseParser.Listener#head} (true: the body was taken from arrivedIn). */
    boolean head(ResponseHead head, ResponseHead.Framing framing, ByteBuf arrivedIn);

    /**
     * Body bytes, now the writer's.
     *
     * @return false if they only joined a small response held back (nothing was written)
     */
    boolean body(ByteBuf bytes);

    /** The client cannot take more now: what is written goes out, so its buffer can drain. */
    void flushBlocked();

    /** The app's connection has no more to read for now: what is held or written goes out. */
    void upstreamReadComplete();

    /** The response ended after {@code payloadBytes} of body: its tail goes out. */
    void end(int status, long payloadBytes);

    /** The client connection closes after this response. */
    boolean closeAfter();

    /** The exchange failed: what is held back never goes. */
    void abandon();

    /** The app's 101 for an {@link #upgradable} request goes to the client. */
    void switched(ResponseHead head);
}
