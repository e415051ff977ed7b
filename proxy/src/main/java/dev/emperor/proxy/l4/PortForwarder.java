package dev.emperor.proxy.l4;

import dev.emperor.proxy.Upstream;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Port-based forwarding (L4): each open forward listens on one public port and relays every
 * connection, byte for byte, to a tenant's upstream (a unix socket under its /var/run, or its
 * tun address). Plain TCP, or TLS passthrough gated on the ClientHello's server name.
 *
 * <p>Runs on the caller's epoll event loop group (the proxy's, shared with HTTP); each
 * connection's two channels live on one loop. Methods are safe from any thread.
 */
public final class PortForwarder implements AutoCloseable {

    private record Key(String tenant, String service) {}

    private final EventLoopGroup group;
    private final Map<Key, Forward> forwards = new ConcurrentHashMap<>();

    /** @param group an epoll group ({@code MultiThreadIoEventLoopGroup(EpollIoHandler.newFactory())}); not closed here */
    public PortForwarder(EventLoopGroup group) {
        this.group = Objects.requireNonNull(group, "group");
    }

    /**
     * Starts forwarding {@code publicPort} to {@code upstream}. If the (tenant, service) is
     * already open on the same port and address, it is re-pointed instead: new connections go
     * to the new upstream with the new options, connections already open are left alone.
     *
     * @throws IOException if the port cannot be bound (e.g. something else listens on it)
     */
    public synchronized void open(String tenant, String service, int publicPort, Upstream upstream,
            ForwardOptions options) throws IOException {
        Objects.requireNonNull(upstream, "upstream");
        Objects.requireNonNull(options, "options");
        Key key = new Key(tenant, service);
        Forward existing = forwards.get(key);
        if (existing != null) {
            if (existing.publicPort == publicPort
                    && Objects.equals(existing.options.bindAddress(), options.bindAddress())) {
                existing.upstream = upstream;
                existing.options = options;
                return;
            }
            close(tenant, service);
        }
        Forward forward = new Forward(tenant, service, publicPort, upstream, options);
        InetSocketAddress address = options.bindAddress() == null
                ? new InetSocketAddress(publicPort)
                : new InetSocketAddress(options.bindAddress(), publicPort);
        ChannelFuture bound = new ServerBootstrap()
                .group(group)
                .channel(EpollServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true) // rebind at once after an emperor restart
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.AUTO_READ, false) // nothing is read before the upstream is there
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true) // (TCP_NODELAY: Netty sets it on accept)
                .childHandler(new Accept(forward))
                .bind(address)
                .awaitUninterruptibly();
        if (!bound.isSuccess()) {
            Throwable cause = bound.cause();
            throw new IOException("cannot listen on public port " + address + " for " + tenant + "/" + service
                    + ": " + cause.getMessage(), cause);
        }
        forward.listener = bound.channel();
        forwards.put(key, forward);
    }

    /** Stops listening on the forward's port and closes its connections; false if it was not open. */
    public synchronized boolean close(String tenant, String service) {
        Forward forward = forwards.remove(new Key(tenant, service));
        if (forward == null) {
            return false;
        }
        forward.listener.close().awaitUninterruptibly();
        forward.connections.close().awaitUninterruptibly();
        return true;
    }

    /** Closes every forward of one tenant (e.g. when it is destroyed). */
    public synchronized void closeTenant(String tenant) {
        for (Key key : List.copyOf(forwards.keySet())) {
            if (key.tenant().equals(tenant)) {
                close(key.tenant(), key.service());
            }
        }
    }

    public synchronized void closeAll() {
        for (Key key : List.copyOf(forwards.keySet())) {
            close(key.tenant(), key.service());
        }
    }

    @Override
    public void close() {
        closeAll();
    }

    public Optional<ForwardStats> stats(String tenant, String service) {
        return Optional.ofNullable(forwards.get(new Key(tenant, service))).map(Forward::stats);
    }

    /** Every open forward's counters, by tenant then service. */
    public List<ForwardStats> stats() {
        return forwards.values().stream()
                .map(Forward::stats)
                .sorted(Comparator.comparing(ForwardStats::tenant).thenComparing(ForwardStats::service))
                .toList();
    }

    /** Sets up each accepted client: limit, then the SNI gate or straight to the upstream. */
    private static final class Accept extends ChannelInitializer<Channel> {
        private final Forward forward;

        Accept(Forward forward) {
            this.forward = forward;
        }

        @Override
        protected void initChannel(Channel client) {
            if (!forward.admit()) {
                client.close();
                return;
            }
            client.closeFuture().addListener(closed -> forward.open.decrementAndGet());
            forward.connections.add(client);
            if (forward.options.protocol() == ServiceProtocol.TLS) {
                client.pipeline().addLast(new SniGate(forward), new Relay(null, forward.bytesFromClients));
            } else {
                client.pipeline().addLast(new Relay(null, forward.bytesFromClients));
                UpstreamConnector.connect(client, forward);
            }
        }
    }
}
