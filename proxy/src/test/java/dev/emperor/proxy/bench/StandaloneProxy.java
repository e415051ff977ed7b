package dev.emperor.proxy.bench;

import dev.emperor.proxy.AcmeChallenges;
import dev.emperor.proxy.ConnectionLimits;
import dev.emperor.proxy.FrontProxy;
import dev.emperor.proxy.ProxyOptions;
import dev.emperor.proxy.TenantSite;
import dev.emperor.proxy.Upstream;
import dev.emperor.proxy.tls.CertificateStore;
import dev.emperor.proxy.tls.TlsFrontend;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;

/**
 * Emperor's front proxy on its own, for tests/bench/proxy-vs-nginx-haproxy: one tenant
 * ("bench", every name under the given domain) behind plain HTTP and HTTPS (the self-signed
 * fallback certificate, ALPN h2 and http/1.1), as the daemon would wire it.
 *
 * <pre>
 *   StandaloneProxy HTTP_PORT HTTPS_PORT EVENT_LOOPS DOMAIN UPSTREAM WORK_DIR
 *   UPSTREAM = unix:/path/app.sock | 127.0.0.1:8080
 * </pre>
 * Prints "ready" once both listeners are bound; stops on SIGTERM.
 */
public final class StandaloneProxy {

    private StandaloneProxy() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println("usage: StandaloneProxy HTTP_PORT HTTPS_PORT EVENT_LOOPS DOMAIN UPSTREAM WORK_DIR");
            System.exit(2);
        }
        int httpPort = Integer.parseInt(args[0]);
        int httpsPort = Integer.parseInt(args[1]);
        int loops = Integer.parseInt(args[2]);
        String domain = args[3];
        Upstream upstream = parseUpstream(args[4]);
        Path work = Path.of(args[5]);

        EventLoopGroup group = new MultiThreadIoEventLoopGroup(loops, EpollIoHandler.newFactory());
        // One load generator on one address: per-client limits would only measure themselves.
        ProxyOptions options = ProxyOptions.defaults()
                .withHttpListen(List.of(new InetSocketAddress("127.0.0.1", httpPort)))
                .withConnectionLimits(new ConnectionLimits(1_000_000, 1_000_000,
                        ConnectionLimits.totalFor(ConnectionLimits.openFileLimit())));
        FrontProxy proxy = new FrontProxy(options, group, AcmeChallenges.NONE, work.resolve("access-logs"));
        TenantSite site = new TenantSite("bench", List.of(domain, "*." + domain), upstream, null,
                false, false, 1L << 30, 1_000_000);
        proxy.setSites(List.of(site));
        proxy.start();

        CertificateStore certificates = new CertificateStore(work.resolve("certs"), domain);
        certificates.setSites(List.of(site));
        TlsFrontend tls = new TlsFrontend(certificates, proxy.overTls());
        Channel https = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<EpollSocketChannel>() {
                    @Override
                    protected void initChannel(EpollSocketChannel channel) {
                        tls.install(channel.pipeline());
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", httpsPort)).sync().channel();

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            https.close().syncUninterruptibly();
            proxy.close();
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        }));
        System.out.println("ready");
        System.out.flush();
        Thread.currentThread().join();
    }

    private static Upstream parseUpstream(String spec) {
        if (spec.startsWith("unix:")) {
            return new Upstream.UnixSocket(Path.of(spec.substring("unix:".length())));
        }
        int colon = spec.lastIndexOf(':');
        return new Upstream.Tcp(spec.substring(0, colon), Integer.parseInt(spec.substring(colon + 1)));
    }
}
