package dev.emperor.proxy.http;

import dev.emperor.proxy.AcmeChallenges;
import dev.emperor.proxy.FrontProxy;
import dev.emperor.proxy.ProxyOptions;
import dev.emperor.proxy.tls.CertificateStore;
import dev.emperor.proxy.tls.TlsFrontend;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The front proxy with an HTTPS listener on a free loopback port, as the daemon wires it (certificates for h2.test). */
final class TlsProxy implements AutoCloseable {
    final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    final FrontProxy proxy;
    final CertificateStore certificates;
    final int port;

    TlsProxy(Path dir, ProxyOptions options) throws Exception {
        proxy = new FrontProxy(options.withHttpListen(List.of(new InetSocketAddress("127.0.0.1", 0))), group,
                AcmeChallenges.NONE, dir.resolve("logs"));
        certificates = new CertificateStore(dir.resolve("certs"), "h2.test");
        proxy.startHttps(List.of(new InetSocketAddress("127.0.0.1", 0)), new TlsFrontend(certificates, proxy.overTls()));
        port = proxy.httpsAddresses().get(0).getPort();
    }

    @Override
    public void close() throws Exception {
        proxy.close();
        certificates.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
}
