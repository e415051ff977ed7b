package dev.emperor.proxy.tls;

import io.netty.channel.ChannelPipeline;

/**
 * Adds the HTTP handlers once TLS and ALPN are done. For {@code http2Stream == false} the
 * pipeline is the decrypted connection and the installer adds its own HTTP/1.1 codec; for
 * {@code true} it is one HTTP/2 stream's child channel, which already converts stream
 * frames to {@code HttpObject}s (Http2StreamFrameToHttpObjectCodec), so the same handlers
 * serve both.
 */
public interface HttpInstaller {

    void install(ChannelPipeline pipeline, boolean http2Stream);

    /**
     * An HTTP/2 connection was negotiated (its codec is in {@code connection}): add what
     * guards the connection as a whole, such as its idle timeout, since streams come and go.
     */
    default void installHttp2Connection(ChannelPipeline connection) {
    }
}
