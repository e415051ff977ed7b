package dev.emperor.proxy.l4;

import dev.emperor.proxy.ClientConnections;
import dev.emperor.proxy.ConnectionLimits;
import dev.emperor.proxy.Upstream;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.nio.file.Path;

/**
 * A stand-alone PortForwarder for tests/bench/l4-vs-haproxy:
 * {@code ForwardMain THREADS PORT=UPSTREAM...}, UPSTREAM being {@code 127.0.0.1:5201} or
 * {@code unix:/path}. Listens on 127.0.0.1, prints READY, runs until killed.
 */
public final class ForwardMain {

    private ForwardMain() {}

    public static void main(String[] args) throws Exception {
        int threads = Integer.parseInt(args[0]);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, EpollIoHandler.newFactory());
        // One load generator on one address: per-client limits would only measure themselves.
        PortForwarder forwarder = new PortForwarder(group, new ClientConnections(new ConnectionLimits(1_000_000,
                1_000_000, ConnectionLimits.totalFor(ConnectionLimits.openFileLimit()))));
        ForwardOptions options = ForwardOptions.tcp().withBindAddress("127.0.0.1").withMaxConnections(100_000);
        for (int i = 1; i < args.length; i++) {
            String[] portAndUpstream = args[i].split("=", 2);
            String target = portAndUpstream[1];
            Upstream upstream = target.startsWith("unix:")
                    ? new Upstream.UnixSocket(Path.of(target.substring(5)))
                    : new Upstream.Tcp(target.substring(0, target.lastIndexOf(':')),
                            Integer.parseInt(target.substring(target.lastIndexOf(':') + 1)));
            forwarder.open("bench", "s" + i, Integer.parseInt(portAndUpstream[0]), upstream, options);
        }
        System.out.println("READY");
        System.out.flush();
        Thread.currentThread().join();
    }
}
