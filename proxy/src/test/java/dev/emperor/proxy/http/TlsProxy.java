package dev.emperor.proxy.http;

import dev.emperor.proxy.AcmeChallenges;
import dev.emperor.proxy.FrontProxy;
import dev.emperor.proxy.ProxyOptions;
import dev.emperor.proxy.tls.CertificateStore;
import dev.emperor.proxy.tls.TlsFrontend;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The front proxy behind an HTTPS listener on a free loopback port, as the daemon wires it (certificates for h2.test). */
final class TlsProxy implements AutoCloseable {
    final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    final FrontProxy proxy;
    final CertificateStore certificates;
    final Channel server;
    final int port;

    TlsProxy(Path dir, ProxyOptions options) throws Exception {
        proxy = new FrontProxy(options.withHttpListen(List.of(new InetSocketAddress("127.0.0.1", 0))), group,
                AcmeChallenges.NONE, dir.resolve("logs"));
        certificates = new CertificateStore(dir.resolve("certs"), "h2.test");
        TlsFrontend tls = new TlsFrontend(certificates, proxy.overTls());
        server = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        tls.install(channel.pipeline());
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
        port = ((InetSocketAddress) server.localAddress()).getPort();
    }

    @Override
    public void close() throws Exception {
        server.close().sync();
        proxy.close();
        certificates.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
}
