package dev.emperor.proxy.tls;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TLS end of the :443 listener: SNI picks the certificate (through a
 * {@link CertificateSource}), ALPN picks the protocol, and HTTP/2 connections are split
 * into one child channel per stream so the HTTP handlers see plain {@code HttpObject}s
 * either way. Call {@link #install} from the server's child channel initializer.
 *
 * <p>An HTTP/2 connection's pipeline, after the handshake:
 * <pre>
 *   ssl         TLS records (BoringSSL when available, see ServerContexts)
 *   flushes     one TLS record and one write for all the responses ready in an event-loop turn
 *   h2          HTTP/2 framing, HPACK, flow control
 *   streams     one child channel per stream: frames → HttpObjects → the HTTP handlers
 * </pre>
 */
public final class TlsFrontend {

    private static final Logger log = LoggerFactory.getLogger(TlsFrontend.class);
    /** A client that has not finished its handshake by then is dropped (slow-loris on TLS). */
    private static final long HANDSHAKE_TIMEOUT_MILLIS = 10_000;
    /** A ClientHello larger than this is refused before parsing (real ones are < 2 KiB; PQ key shares ~2.5 KiB). */
    private static final int MAX_CLIENT_HELLO = 16 * 1024;
    /** Streams one client may have open at once; bounds what one connection can cost. */
    private static final long MAX_CONCURRENT_STREAMS = 128;
    /**
     * Flushes deferred at most this many times before one goes through anyway. Responses
     * finish on upstream reads, each flushing the connection; without this, every small
     * response costs its own TLS record and write(2) syscall.
     */
    private static final int FLUSHES_PER_WRITE = 64;
    /** Stateless (scheme kept per stream channel): one instance for every stream. */
    private static final Http2StreamFrameToHttpObjectCodec STREAM_CODEC = new Http2StreamFrameToHttpObjectCodec(true);

    private final CertificateSource certificates;
    private final HttpInstaller http;
    /** Shared by every HTTP/2 connection (ChannelInitializer is sharable). */
    private final ChannelHandler streamInitializer;

    public TlsFrontend(CertificateSource certificates, HttpInstaller http) {
        this.certificates = Objects.requireNonNull(certificates, "certificates");
        this.http = Objects.requireNonNull(http, "http");
        this.streamInitializer = new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel stream) {
                stream.pipeline().addLast(STREAM_CODEC);
                TlsFrontend.this.http.install(stream.pipeline(), true);
            }
        };
    }

    public void install(ChannelPipeline pipeline) {
        pipeline.addLast("sni", new CertificateChoice(certificates));
        pipeline.addLast("alpn", new Negotiation());
    }

    /** SNI → context, holding the reference {@link CertificateSource#acquire} gave only until the engine exists. */
    private static final class CertificateChoice extends SniHandler {

        CertificateChoice(CertificateSource certificates) {
            super(certificates::acquire, MAX_CLIENT_HELLO, HANDSHAKE_TIMEOUT_MILLIS);
        }

        @Override
        protected void replaceHandler(ChannelHandlerContext ctx, String hostname, SslContext context) throws Exception {
            try {
                super.replaceHandler(ctx, hostname, context); // the new engine retains the context itself
            } finally {
                ReferenceCountUtil.release(context);
            }
        }
    }

    private final class Negotiation extends ApplicationProtocolNegotiationHandler {

        Negotiation() {
            super(ApplicationProtocolNames.HTTP_1_1); // clients without ALPN speak HTTP/1.1
        }

        @Override
        protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
            ChannelPipeline pipeline = ctx.pipeline();
            if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                pipeline.addLast("flushes", new FlushConsolidationHandler(FLUSHES_PER_WRITE, true));
                pipeline.addLast("h2", Http2FrameCodecBuilder.forServer()
                        .initialSettings(Http2Settings.defaultSettings().maxConcurrentStreams(MAX_CONCURRENT_STREAMS))
                        .build());
                pipeline.addLast("streams", new Http2MultiplexHandler(streamInitializer));
                http.installHttp2Connection(pipeline);
            } else if (ApplicationProtocolNames.HTTP_1_1.equals(protocol)) {
                http.install(pipeline, false);
            } else {
                throw new IllegalStateException("unexpected ALPN protocol " + protocol);
            }
        }

        @Override
        protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
            // Scanners and old clients fail handshakes all day: not worth a warning each.
            log.debug("TLS handshake with {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }
}
