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
 * Sets up one tenant for {@code bench/pump-vs-veth.sh} and moves its packets until SIGTERM:
 * a gateway tun in the host namespace holding the subnet's first address, {@code tun0} in the
 * given (existing) network namespace holding the second one with a default route via the
 * gateway, and a {@link PacketPump} between them. Prints "ready" once packets flow, and the
 * tenant's counters when it stops.
 *
 * <p>Arguments: NETNS_FILE GATEWAY_NAME SUBNET [MTU [TXQUEUELEN]] (e.g. /run/netns/x emp-b-1g
 * 10.214.0.0/24 1500 1000); both tuns get that MTU and transmit queue length.
 */
public final class PumpBenchmarkMain {
    public static void main(String[] args) throws Exception {
        Path netns = Path.of(args[0]);
        TenantSubnet subnet = TenantSubnet.parse(args[2]);
        int prefix = subnet.cidr().prefixLength();
        int tenantAddress = subnet.firstTenantAddress();
        int mtu = args.length > 3 ? Integer.parseInt(args[3]) : 1500;
        int txQueueLength = args.length > 4 ? Integer.parseInt(args[4]) : 1000;
        TunDevice gateway = TunDevice.create(args[1]);
        gateway.configure(subnet.gateway(), prefix, mtu, txQueueLength);
        Router router = new Router(new Firewall(subnet, FirewallRules.NONE, Verdict.ALLOW), 65535, true, true);
        int tenant = router.attach("bench", tenantAddress, FirewallRules.NONE);
        TunDevice tun = NetnsThread.call(netns, () -> {
            TunDevice created = TunDevice.create("tun0");
            created.configure(tenantAddress, prefix, mtu, txQueueLength);
            created.addDefaultRoute(subnet.gateway());
            return created;
        });
        PacketPump pump = new PacketPump(router, gateway.fd(), 256);
        pump.attach(tenant, tun.fd());

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            pump.close();
            tun.close();
            gateway.close();
            System.out.println("tenant counters: " + router.counters(tenant).snapshot());
            System.out.println("unattributed: " + router.unattributed().snapshot());
            stopped.countDown();
        }));
        System.out.println("ready");
        stopped.await();
    }
}
