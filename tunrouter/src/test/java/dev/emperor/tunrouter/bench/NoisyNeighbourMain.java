package dev.emperor.tunrouter.bench;

import dev.emperor.tunrouter.Firewall;
import dev.emperor.tunrouter.FirewallRules;
import dev.emperor.tunrouter.NetnsThread;
import dev.emperor.tunrouter.PacketPump;
import dev.emperor.tunrouter.Router;
import dev.emperor.tunrouter.TenantSubnet;
import dev.emperor.tunrouter.TunDevice;
import dev.emperor.tunrouter.Verdict;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * Two tenants behind one pump for {@code tests/bench/router-noisy-neighbour}: a gateway tun in
 * the host namespace with the subnet's first address, {@code tun0} in each of two existing
 * namespaces (the victim gets the second address, the flooder the third), each with a default
 * route via the gateway, tuns made as the supervisor makes them (MTU 1500, transmit queues 4096
 * for tenants and 10000 for the gateway). Prints "ready", then runs until SIGTERM and prints
 * both tenants' counters.
 *
 * <p>Arguments: VICTIM_NETNS_FILE FLOODER_NETNS_FILE GATEWAY_NAME SUBNET [FLOODER_BYTES_PER_SECOND].
 * The rate is set through reflection so that this same file also runs against a pump without
 * {@code setRate} (the code before fair sharing, for a before/after comparison).
 */
public final class NoisyNeighbourMain {
    public static void main(String[] args) throws Exception {
        TenantSubnet subnet = TenantSubnet.parse(args[3]);
        int prefix = subnet.cidr().prefixLength();
        long flooderRate = args.length > 4 ? Long.parseLong(args[4]) : 0;
        TunDevice gateway = TunDevice.create(args[2]);
        gateway.configure(subnet.gateway(), prefix, 1500, 10_000);
        Router router = new Router(new Firewall(subnet, FirewallRules.NONE, Verdict.ALLOW), 65535, true, true);
        int victimAddress = subnet.firstTenantAddress();
        int flooderAddress = victimAddress + 1;
        int victim = router.attach("victim", victimAddress, FirewallRules.NONE);
        int flooder = router.attach("flooder", flooderAddress, FirewallRules.NONE);
        TunDevice victimTun = tun(Path.of(args[0]), victimAddress, prefix, subnet);
        TunDevice flooderTun = tun(Path.of(args[1]), flooderAddress, prefix, subnet);
        PacketPump pump = new PacketPump(router, gateway.fd(), 256);
        pump.attach(victim, victimTun.fd());
        pump.attach(flooder, flooderTun.fd());
        if (flooderRate > 0) {
            PacketPump.class.getMethod("setRate", int.class, long.class).invoke(pump, flooder, flooderRate);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            pump.close();
            victimTun.close();
            flooderTun.close();
            gateway.close();
            System.out.println("victim counters: " + router.counters(victim).snapshot());
            System.out.println("flooder counters: " + router.counters(flooder).snapshot());
            stopped.countDown();
        }));
        System.out.println("ready");
        stopped.await();
    }

    private static TunDevice tun(Path netns, int address, int prefix, TenantSubnet subnet) throws Exception {
        return NetnsThread.call(netns, () -> {
            TunDevice created = TunDevice.create("tun0");
            created.configure(address, prefix, 1500, 4096);
            created.addDefaultRoute(subnet.gateway());
            return created;
        });
    }
}
