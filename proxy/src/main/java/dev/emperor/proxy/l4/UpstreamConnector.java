package dev.emperor.proxy.l4;

import dev.emperor.proxy.UnixUpstreamSocket;
import dev.emperor.proxy.Upstream;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * Connects an accepted client to the forward's upstream and starts relaying both ways.
 *
 * <p>The upstream channel is made by hand rather than by a Bootstrap: this runs once per
 * connection, and a Bootstrap per connect costs an option map, a resolver lookup and a
 * registration listener that a literal address on the client's own loop does not need.
 */
final class UpstreamConnector implements ChannelFutureListener {

    private final Channel client;
    private final Forward forward;
    private final UnixUpstreamSocket unixSocket;
    private final boolean proxyHeader;

    private UpstreamConnector(Channel client, Forward forward, UnixUpstreamSocket unixSocket, boolean proxyHeader) {
        this.client = client;
        this.forward = forward;
        this.unixSocket = unixSocket;
        this.proxyHeader = proxyHeader;
    }

    /**
     * Connects; the client's pipeline must end in a {@link Relay} without a peer yet, which holds
     * whatever the client sent so far (the peeked ClientHello included) until then. On the
     * client's event loop.
     */
    static void connect(Channel client, Forward forward) {
        Upstream upstream = forward.upstream; // read once: a re-point affects later clients only
        ForwardOptions options = forward.options;
        Channel up;
        SocketAddress address;
        UnixUpstreamSocket unixSocket = null;
        if (upstream instanceof Upstream.UnixSocket unix) {
            try {
                // never by path: the tenant owns the directory and could put a link there
                unixSocket = UnixUpstreamSocket.open(unix.path());
            } catch (IOException e) {
                forward.refused.increment();
                client.close();
                return;
            }
            up = new EpollDomainSocketChannel();
            address = unixSocket.address();
        } else {
            Upstream.Tcp tcp = (Upstream.Tcp) upstream;
            InetSocketAddress inet = new InetSocketAddress(tcp.address(), tcp.port()); // a literal: no DNS lookup
            // An IPv4 socket for an IPv4 tenant: a dual-stack one costs an extra setsockopt.
            // (Netty turns TCP_NODELAY on by itself.)
            up = new EpollSocketChannel(family(inet.getAddress()));
            address = inet;
        }
        ChannelConfig config = up.config();
        config.setAutoRead(false);
        config.setRecvByteBufAllocator(Relay.READS);
        config.setConnectTimeoutMillis((int) options.connectTimeout().toMillis());
        if (up instanceof EpollSocketChannel tcp) {
            tcp.config().setAllowHalfClosure(true);
        } else {
            ((EpollDomainSocketChannel) up).config().setAllowHalfClosure(true);
        }
        forward.connections.add(up);
        UpstreamConnector connector = new UpstreamConnector(client, forward, unixSocket, options.proxyProtocol());
        // Same loop as the client, so the two relays need no locks; from that loop the
        // registration completes at once and the connect can follow straight away.
        ChannelFuture registered = client.eventLoop().register(up);
        if (registered.isDone()) {
            connector.registered(registered, address);
        } else {
            registered.addListener(done -> connector.registered(registered, address));
        }
    }

    private static SocketProtocolFamily family(InetAddress address) {
        return address instanceof Inet4Address ? SocketProtocolFamily.INET : SocketProtocolFamily.INET6;
    }

    private void registered(ChannelFuture registration, SocketAddress address) {
        if (!registration.isSuccess()) {
            operationComplete(registration);
            return;
        }
        registration.channel().connect(address).addListener(this);
    }

    /** The connect (or the registration before it) completed. */
    @Override
    public void operationComplete(ChannelFuture done) {
        Channel up = done.channel();
        if (unixSocket != null) {
            unixSocket.close();
        }
        if (!done.isSuccess() || !client.isActive()) { // or the client left while we connected
            // Unreachable tenant: the client learns at once instead of waiting on a dead socket.
            forward.refused.increment();
            client.close();
            up.close();
            return;
        }
        up.pipeline().addLast(new Relay(client, forward.bytesToClients, forward.tenantTraffic.portBytesOut));
        if (proxyHeader) {
            ProxyHeader.write(up, client); // before attach relays what the client sent so far
        }
        client.pipeline().get(Relay.class).attach(up);
        up.read();
    }
}
