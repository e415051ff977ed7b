package dev.emperor.proxy.http;

import dev.emperor.proxy.UnixUpstreamSocket;
import dev.emperor.proxy.Upstream;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Keep-alive connections to tenants' apps, pooled per event loop and per Upstream. A client
 * connection only ever borrows upstream connections of its own event loop, so both sides of
 * a proxied exchange run on one thread and the pool itself needs no locks.
 */
final class UpstreamPool {

    /**
     * Idle connections kept per upstream and event loop; more are closed on release. As many
     * as one HTTP/2 client may have streams open (TlsFrontend allows 128), each needing its
     * own upstream connection: with 32, a burst of h2 responses closed most of them and the
     * next burst reconnected (0.42 connects per request under h2load -c32 -m10; 0.04 now).
     */
    private static final int MAX_IDLE = 128;

    private final Map<EventLoop, Map<Upstream, ArrayDeque<Channel>>> idle = new ConcurrentHashMap<>();
    // Read per connection or request; changed (SIGHUP) by timeouts().
    private volatile int connectTimeoutMillis;
    private volatile long idleNanos;
    private volatile long responseTimeoutNanos;

    UpstreamPool(long connectTimeoutMillis, long idleNanos, long responseTimeoutNanos) {
        timeouts(connectTimeoutMillis, idleNanos, responseTimeoutNanos);
    }

    /** For connections made and requests sent from now on. */
    void timeouts(long connectTimeoutMillis, long idleNanos, long responseTimeoutNanos) {
        this.connectTimeoutMillis = (int) Math.min(Integer.MAX_VALUE, connectTimeoutMillis);
        this.idleNanos = idleNanos;
        this.responseTimeoutNanos = responseTimeoutNanos;
    }

    long responseTimeoutNanos() {
        return responseTimeoutNanos;
    }

    /**
     * An idle pooled connection to {@code upstream}, taken out of {@code idle} (the
     * {@link #idleOn} of the caller's loop, which a connection keeps), or null.
     */
    Channel takeIdle(Map<Upstream, ArrayDeque<Channel>> idle, Upstream upstream) {
        ArrayDeque<Channel> channels = idle.get(upstream);
        while (channels != null && !channels.isEmpty()) {
            Channel channel = channels.pollLast();
            if (channel.isActive()) {
                return channel;
            }
        }
        return null;
    }

    /** A new connection to {@code upstream} on {@code loop} (when {@link #takeIdle} had none). */
    Future<Channel> connect(EventLoop loop, Upstream upstream) {
        Promise<Channel> promise = loop.newPromise();
        SocketAddress address;
        UnixUpstreamSocket unixSocket = null;
        try {
            if (upstream instanceof Upstream.UnixSocket unix) {
                // never by path: the tenant owns the directory and could put a link there
                unixSocket = UnixUpstreamSocket.open(unix.path());
                address = unixSocket.address();
            } else {
                address = addressOf(upstream);
            }
        } catch (IOException e) {
            return promise.setFailure(e);
        }
        UnixUpstreamSocket opened = unixSocket;
        long idle = idleNanos;
        Bootstrap bootstrap = new Bootstrap().group(loop)
                .channel(upstream instanceof Upstream.UnixSocket ? EpollDomainSocketChannel.class : EpollSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        // No codec: requests go up as bytes the forwarder wrote, responses are read as bytes.
                        channel.pipeline().addLast("idleClose", new IdleCloser(idle))
                                .addLast("relay", new ResponseRelay());
                    }
                });
        if (upstream instanceof Upstream.Tcp) {
            bootstrap.option(ChannelOption.TCP_NODELAY, true);
        }
        ChannelFuture connect = bootstrap.connect(address);
        connect.addListener(f -> {
            if (opened != null) {
                opened.close();
            }
            if (f.isSuccess()) {
                // A pooled connection the app closes leaves the pool at once.
                connect.channel().closeFuture().addListener(c -> {
                    ArrayDeque<Channel> pooled = idleOn(loop).get(upstream);
                    if (pooled != null) {
                        pooled.remove(connect.channel());
                    }
                });
                promise.trySuccess(connect.channel());
            } else {
                promise.tryFailure(f.cause());
            }
        });
        return promise;
    }

    /** Returns a connection whose last exchange ended cleanly; called on its event loop. */
    void release(Upstream upstream, Channel channel) {
        release(idleOn(channel.eventLoop()), upstream, channel);
    }

    /** As above, into {@code idle}, the {@link #idleOn} of the channel's loop. */
    void release(Map<Upstream, ArrayDeque<Channel>> idle, Upstream upstream, Channel channel) {
        if (!channel.isActive()) {
            return;
        }
        ArrayDeque<Channel> channels = idle.computeIfAbsent(upstream, u -> new ArrayDeque<>());
        if (channels.size() >= MAX_IDLE) {
            channel.close();
            return;
        }
        channels.addLast(channel);
    }

    /** The idle connections of {@code loop}, per upstream; touched only on that loop. */
    Map<Upstream, ArrayDeque<Channel>> idleOn(EventLoop loop) {
        Map<Upstream, ArrayDeque<Channel>> byUpstream = idle.get(loop); // lock-free, unlike computeIfAbsent
        return byUpstream != null ? byUpstream : idle.computeIfAbsent(loop, l -> new HashMap<>());
    }

    private static SocketAddress addressOf(Upstream upstream) throws UnknownHostException {
        return switch (upstream) {
            case Upstream.UnixSocket unix -> throw new IllegalStateException("unix upstreams are opened by UnixUpstreamSocket");
            // A literal address: getByName parses it without any DNS lookup.
            case Upstream.Tcp tcp -> new InetSocketAddress(InetAddress.getByName(tcp.address()), tcp.port());
        };
    }
}
