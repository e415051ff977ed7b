package dev.emperor.proxy.l4;

import dev.emperor.proxy.UnixUpstreamSocket;
import dev.emperor.proxy.Upstream;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/** Connects an accepted client to the forward's upstream and starts relaying both ways. */
final class UpstreamConnector {

    private UpstreamConnector() {}

    /**
     * Connects; the client's pipeline must end in a {@link Relay} without a peer yet, which holds
     * whatever the client sent so far (the peeked ClientHello included) until then.
     */
    static void connect(Channel client, Forward forward) {
        Upstream upstream = forward.upstream; // read once: a re-point affects later clients only
        ForwardOptions options = forward.options;
        Bootstrap bootstrap = new Bootstrap()
                .group(client.eventLoop()) // same loop as the client: the relays need no locks
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) options.connectTimeout().toMillis())
                .handler(new ChannelInboundHandlerAdapter());
        SocketAddress address;
        UnixUpstreamSocket unixSocket = null;
        if (upstream instanceof Upstream.UnixSocket unix) {
            bootstrap.channel(EpollDomainSocketChannel.class);
            try {
                // never by path: the tenant owns the directory and could put a link there
                unixSocket = UnixUpstreamSocket.open(unix.path());
            } catch (IOException e) {
                forward.refused.increment();
                client.close();
                return;
            }
            address = unixSocket.address();
        } else {
            Upstream.Tcp tcp = (Upstream.Tcp) upstream;
            bootstrap.channel(EpollSocketChannel.class).option(ChannelOption.TCP_NODELAY, true);
            address = new InetSocketAddress(tcp.address(), tcp.port()); // a literal: no DNS lookup
        }
        ChannelFuture connecting = bootstrap.connect(address);
        Channel up = connecting.channel();
        forward.connections.add(up);
        UnixUpstreamSocket opened = unixSocket;
        connecting.addListener(done -> {
            if (opened != null) {
                opened.close();
            }
            if (!done.isSuccess() || !client.isActive()) { // or the client left while we connected
                // Unreachable tenant: the client learns at once instead of waiting on a dead socket.
                forward.refused.increment();
                client.close();
                up.close();
                return;
            }
            up.pipeline().addLast(new Relay(client, forward.bytesToClients));
            client.pipeline().get(Relay.class).attach(up);
            up.read();
        });
    }
}
