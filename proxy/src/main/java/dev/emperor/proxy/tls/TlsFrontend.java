package dev.emperor.proxy.tls;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SniHandler;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TLS end of the :443 listener: SNI picks the certificate (through a
 * {@link CertificateSource}), ALPN picks the protocol, and HTTP/2 connections are split
 * into one child channel per stream so the HTTP handlers see plain {@code HttpObject}s
 * either way. Call {@link #install} from the server's child channel initializer.
 */
public final class TlsFrontend {

    private static final Logger log = LoggerFactory.getLogger(TlsFrontend.class);
    /** A client that has not finished its handshake by then is dropped (slow-loris on TLS). */
    private static final long HANDSHAKE_TIMEOUT_MILLIS = 10_000;
    /** A ClientHello larger than this is refused before parsing (real ones are < 2 KiB; PQ key shares ~2.5 KiB). */
    private static final int MAX_CLIENT_HELLO = 16 * 1024;
    /** Streams one client may have open at once; bounds what one connection can cost. */
    private static final long MAX_CONCURRENT_STREAMS = 128;

    private final CertificateSource certificates;
    private final HttpInstaller http;

    public TlsFrontend(CertificateSource certificates, HttpInstaller http) {
        this.certificates = Objects.requireNonNull(certificates, "certificates");
        this.http = Objects.requireNonNull(http, "http");
    }

    public void install(ChannelPipeline pipeline) {
        pipeline.addLast("sni", new SniHandler(certificates::forServerName, MAX_CLIENT_HELLO, HANDSHAKE_TIMEOUT_MILLIS));
        pipeline.addLast("alpn", new Negotiation());
    }

    private final class Negotiation extends ApplicationProtocolNegotiationHandler {

        Negotiation() {
            super(ApplicationProtocolNames.HTTP_1_1); // clients without ALPN speak HTTP/1.1
        }

        @Override
        protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
            ChannelPipeline pipeline = ctx.pipeline();
            if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                pipeline.addLast(Http2FrameCodecBuilder.forServer()
                        .initialSettings(Http2Settings.defaultSettings().maxConcurrentStreams(MAX_CONCURRENT_STREAMS))
                        .build());
                pipeline.addLast(new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                    @Override
                    protected void initChannel(Http2StreamChannel stream) {
                        stream.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true));
                        http.install(stream.pipeline(), true);
                    }
                }));
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
