package dev.emperor.proxy.bench;

import dev.emperor.proxy.AcmeChallenges;
import dev.emperor.proxy.FrontProxy;
import dev.emperor.proxy.ProxyOptions;
import dev.emperor.proxy.TenantSite;
import dev.emperor.proxy.Upstream;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The front proxy with two tenants, for tests/bench/proxy-noisy-neighbour: "victim"
 * (victim.test) and "neighbour" (neighbour.test), both with the vassal default of 512
 * connections and the proxy's default connection limits, both to the same app. Plain HTTP on
 * 0.0.0.0 (so clients can come from any 127.0.0.x).
 *
 * <pre>
 *   NoisyNeighbourProxy HTTP_PORT EVENT_LOOPS UPSTREAM WORK_DIR
 *   UPSTREAM = unix:/path/app.sock | 127.0.0.1:8080
 * </pre>
 * Prints "ready" once listening, then the connection counters on SIGTERM.
 */
public final class NoisyNeighbourProxy {

    private NoisyNeighbourProxy() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: NoisyNeighbourProxy HTTP_PORT EVENT_LOOPS UPSTREAM WORK_DIR");
            System.exit(2);
        }
        String spec = args[2];
        Upstream upstream = spec.startsWith("unix:") ? new Upstream.UnixSocket(Path.of(spec.substring(5)))
                : new Upstream.Tcp(spec.substring(0, spec.lastIndexOf(':')),
                        Integer.parseInt(spec.substring(spec.lastIndexOf(':') + 1)));
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(Integer.parseInt(args[1]), EpollIoHandler.newFactory());
        ProxyOptions options = ProxyOptions.defaults()
                .withHttpListen(List.of(new InetSocketAddress(Integer.parseInt(args[0]))));
        FrontProxy proxy = new FrontProxy(options, group, AcmeChallenges.NONE, Path.of(args[3]).resolve("access-logs"));
        proxy.setSites(List.of(
                new TenantSite("victim", List.of("victim.test"), upstream, null, false, false, 1L << 30, 512),
                new TenantSite("neighbour", List.of("neighbour.test"), upstream, null, false, false, 1L << 30, 512)));
        proxy.start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("counts " + proxy.clientConnections().counts());
            System.out.flush();
            proxy.close();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }));
        System.out.println("ready");
        System.out.flush();
        Thread.currentThread().join();
    }
}
