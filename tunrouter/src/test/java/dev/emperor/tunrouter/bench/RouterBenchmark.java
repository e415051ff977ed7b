package dev.emperor.tunrouter.bench;

import dev.emperor.tunrouter.Cidr;
import dev.emperor.tunrouter.Firewall;
import dev.emperor.tunrouter.FirewallRule;
import dev.emperor.tunrouter.FirewallRuleException;
import dev.emperor.tunrouter.FirewallRuleParser;
import dev.emperor.tunrouter.FirewallRules;
import dev.emperor.tunrouter.Router;
import dev.emperor.tunrouter.TenantSubnet;
import dev.emperor.tunrouter.Verdict;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Nanoseconds per packet for {@link Router#fromTenant}: 2000 attached tenants, a realistic
 * operator rule set of 10 rules (after Emperor's 12 built-ins), and a 1400-byte TCP packet to
 * port 443 that is allowed by the 9th rule, so nearly every rule is read. Run it with
 * {@code main} (arguments go to JMH, e.g. {@code -f 1 -wi 2 -i 3}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RouterBenchmark {
    private static final String[] OPERATOR_RULES = {
            "deny 0.0.0.0 0.0.0.0 proto tcp port 25",
            "deny 0.0.0.0 10.0.0.0/8",
            "deny 0.0.0.0 172.16.0.0/12",
            "deny 0.0.0.0 192.168.0.0/16",
            "allow 10.200.0.0/16 10.200.0.1 proto udp port 53",
            "deny 10.200.0.0/16 10.200.0.1",
            "allow 0.0.0.0 0.0.0.0 proto udp port 123",
            "allow 0.0.0.0 0.0.0.0 proto icmp",
            "allow 10.200.0.0/16 0.0.0.0 proto tcp port 80-443",
            "deny",
    };

    private Router router;
    private int tenant;
    private ByteBuffer frame;

    @Setup
    public void setUp() throws FirewallRuleException {
        TenantSubnet subnet = TenantSubnet.parse("10.200.0.0/16");
        List<FirewallRule> out = new ArrayList<>();
        for (int i = 0; i < OPERATOR_RULES.length; i++) {
            out.add(FirewallRuleParser.parse(OPERATOR_RULES[i], "emperor.ini:" + (i + 1)));
        }
        router = new Router(new Firewall(subnet, new FirewallRules(out, List.of()), Verdict.ALLOW), 1500, true);
        for (int i = 0; i < 2000; i++) {
            int id = router.attach("tenant-" + i, subnet.firstTenantAddress() + i, FirewallRules.NONE);
            if (i == 1234) {
                tenant = id;
            }
        }
        frame = tcpFrame(subnet.firstTenantAddress() + 1234, Cidr.parseAddress("93.184.216.34"), 443, 1400);
        if (router.fromTenant(tenant, frame) != Router.TO_GATEWAY) {
            throw new IllegalStateException("benchmark packet is not forwarded: " + Router.dropReason(router.fromTenant(tenant, frame)));
        }
    }

    @Benchmark
    public int fromTenant() {
        return router.fromTenant(tenant, frame);
    }

    private static ByteBuffer tcpFrame(int source, int destination, int port, int length) {
        ByteBuffer frame = ByteBuffer.allocateDirect(length);
        frame.put(0, (byte) 0x45).putShort(2, (short) length).put(8, (byte) 64).put(9, (byte) 6)
                .putInt(12, source).putInt(16, destination)
                .putShort(20, (short) 40000).putShort(22, (short) port).put(32, (byte) 0x50);
        int sum = 0;
        for (int i = 0; i < 20; i += 2) {
            sum += frame.getShort(i) & 0xffff;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        frame.putShort(10, (short) ~sum);
        return frame;
    }

    public static void main(String[] args) throws Exception {
        String[] jmhArgs = new String[args.length + 1];
        jmhArgs[0] = RouterBenchmark.class.getName();
        System.arraycopy(args, 0, jmhArgs, 1, args.length);
        org.openjdk.jmh.Main.main(jmhArgs);
    }
}
