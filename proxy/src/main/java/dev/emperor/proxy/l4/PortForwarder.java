package dev.emperor.proxy.l4;

import dev.emperor.proxy.ClientConnections;
import dev.emperor.proxy.ConnectionLimits;
import dev.emperor.proxy.TenantTraffic;
import dev.emperor.proxy.Upstream;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannelConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

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
    private final ClientConnections clients;
    private final TenantTraffic traffic;
    private final Map<Key, Forward> forwards = new ConcurrentHashMap<>();
    private volatile Runnable listenersChanged = () -> {};

    /** A forwarder whose clients are counted on their own, with the default limits (tests, tools). */
    public PortForwarder(EventLoopGroup group) {
        this(group, new ClientConnections(ConnectionLimits.defaults()));
    }

    /**
     * @param group   an epoll group ({@code MultiThreadIoEventLoopGroup(EpollIoHandler.newFactory())}); not closed here
     * @param clients the front proxy's ({@link dev.emperor.proxy.FrontProxy#clientConnections}), so that a
     *                client's connections to public ports and web sites count together
     */
    public PortForwarder(EventLoopGroup group, ClientConnections clients) {
        this(group, clients, new TenantTraffic());
    }

    /**
     * @param traffic where each tenant's connections and bytes are counted: the front proxy's
     *                ({@link dev.emperor.proxy.FrontProxy#traffic}), so a tenant's web and port
     *                traffic are kept (and stored) together
     */
    public PortForwarder(EventLoopGroup group, ClientConnections clients, TenantTraffic traffic) {
        this.group = Objects.requireNonNull(group, "group");
        this.clients = Objects.requireNonNull(clients, "clients");
        this.traffic = Objects.requireNonNull(traffic, "traffic");
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
                    && existing.options.bindAddresses().equals(options.bindAddresses())) {
                existing.upstream = upstream;
                existing.options = options;
                return;
            }
            close(tenant, service);
        }
        Forward forward = new Forward(tenant, service, publicPort, upstream, options, traffic.of(tenant));
        List<InetSocketAddress> addresses = options.bindAddresses().isEmpty()
                ? List.of(new InetSocketAddress(publicPort))
                : options.bindAddresses().stream().map(a -> new InetSocketAddress(a, publicPort)).toList();
        List<Channel> listeners = new ArrayList<>();
        for (InetSocketAddress address : addresses) {
            try {
                listeners.add(listen(forward, address));
            } catch (IOException e) {
                listeners.forEach(bound -> bound.close().awaitUninterruptibly()); // all addresses or none
                throw e;
            }
        }
        forward.listeners = List.copyOf(listeners);
        forwards.put(key, forward);
        listenersChanged.run();
    }

    private Channel listen(Forward forward, InetSocketAddress address) throws IOException {
        // The listener is made by hand, not by a ServerBootstrap: its per-client hand-off (an
        // option map applied to every child, an initializer added and removed) showed in the
        // connection-rate profile. Accept below does what that hand-off did, and no more.
        EpollServerSocketChannel listener = new EpollServerSocketChannel();
        listener.config().setReuseAddress(true); // rebind at once after an emperor restart
        listener.config().setBacklog(1024);
        listener.pipeline().addLast(new Accept(forward, group, clients));
        ChannelFuture bound = group.register(listener).awaitUninterruptibly();
        if (bound.isSuccess()) {
            bound = listener.bind(address).awaitUninterruptibly();
        }
        if (!bound.isSuccess()) {
            listener.close().awaitUninterruptibly();
            Throwable cause = bound.cause();
            throw new IOException("cannot listen on public port " + address + " for " + forward.tenant + "/"
                    + forward.service + ": " + cause.getMessage(), cause);
        }
        return bound.channel();
    }

    /**
     * Called (under this forwarder's lock: it must only hand the news on) each time a public
     * port starts or stops listening, so the host can open exactly those ports to tenants.
     */
    public void onListenersChanged(Runnable callback) {
        listenersChanged = Objects.requireNonNull(callback, "callback");
    }

    /** The addresses the open forwards listen on. */
    public synchronized List<InetSocketAddress> listening() {
        return forwards.values().stream()
                .flatMap(f -> f.listeners.stream())
                .map(listener -> (InetSocketAddress) listener.localAddress())
                .toList();
    }

    /** Stops listening on the forward's port and closes its connections; false if it was not open. */
    public synchronized boolean close(String tenant, String service) {
        Forward forward = forwards.remove(new Key(tenant, service));
        if (forward == null) {
            return false;
        }
        forward.listeners.forEach(listener -> listener.close().awaitUninterruptibly());
        forward.connections.close().awaitUninterruptibly();
        listenersChanged.run();
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

    /**
     * On the listener: sets up each accepted client (limit, then the SNI gate or straight to the
     * upstream) and registers it on a loop of the group, where its upstream will live too.
     */
    private static final class Accept extends ChannelInboundHandlerAdapter implements ChannelFutureListener {
        private final Forward forward;
        private final EventLoopGroup group;
        private final ClientConnections clients;
        /** Counts a client out when it closes (one listener for every client of the forward). */
        private final ChannelFutureListener closed;

        Accept(Forward forward, EventLoopGroup group, ClientConnections clients) {
            this.forward = forward;
            this.group = group;
            this.clients = clients;
            this.closed = done -> forward.open.decrementAndGet();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Channel client = (Channel) msg;
            if (!forward.admit()) {
                client.unsafe().closeForcibly();
                return;
            }
            // Counted with the client's web connections; one client gets at most its share of the port.
            ClientConnections.Client counted = clients.admit(client, false);
            if (counted == null || !counted.holdSite(forward.siteName, forward.options.maxConnections(), true)) {
                if (counted != null) {
                    counted.release(); // not registered yet: its close would not count it out
                }
                forward.refusedAfterAdmit();
                client.unsafe().closeForcibly();
                return;
            }
            client.closeFuture().addListener(closed);
            forward.tenantTraffic.portConnections.increment();
            forward.connections.add(client);
            SocketChannelConfig config = (SocketChannelConfig) client.config();
            config.setAutoRead(false); // nothing is read before the upstream is there
            config.setRecvByteBufAllocator(Relay.READS);
            config.setAllowHalfClosure(true); // (TCP_NODELAY: Netty sets it on accepted sockets)
            boolean tls = forward.options.protocol() == ServiceProtocol.TLS;
            if (tls) {
                client.pipeline().addLast(new SniGate(forward)); // it starts reading once registered
            }
            client.pipeline().addLast(new Relay(null, forward.bytesFromClients, forward.tenantTraffic.portBytesIn));
            ChannelFuture registered = group.next().register(client);
            if (!tls) {
                registered.addListener(this);
            }
        }

        /** A plain TCP client is registered: connect its upstream, on its loop. */
        @Override
        public void operationComplete(ChannelFuture registered) {
            Channel client = registered.channel();
            if (registered.isSuccess()) {
                UpstreamConnector.connect(client, forward);
            } else {
                client.unsafe().closeForcibly();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // accept() failed, e.g. out of file descriptors: the listening socket stays readable,
            // so pause accepting for a second instead of spinning on the error.
            ChannelConfig config = ctx.channel().config();
            if (config.isAutoRead()) {
                config.setAutoRead(false);
                ctx.channel().eventLoop().schedule(() -> config.setAutoRead(true), 1, TimeUnit.SECONDS);
            }
        }
    }
}
