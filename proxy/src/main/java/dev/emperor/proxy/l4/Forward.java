package dev.emperor.proxy.l4;

import dev.emperor.proxy.TenantTraffic;
import dev.emperor.proxy.Upstream;
import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * One open public port: where it points now, its limits, its connections and counters.
 * Upstream and options are volatile so a reload can re-point the forward while connections are
 * being accepted; a connection reads them once, when it starts, and keeps what it got.
 */
final class Forward {

    final String tenant;
    final String service;
    final int publicPort;
    /** What the per-client-and-site limit calls this port. */
    final String siteName;
    volatile Upstream upstream;
    volatile ForwardOptions options;
    /** The listening channels, one per bind address; set once all are bound. */
    List<Channel> listeners = List.of();
    /** Every client and upstream channel of this forward, to close them all together. */
    final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

    final AtomicInteger open = new AtomicInteger();
    final LongAdder accepted = new LongAdder();
    final LongAdder refused = new LongAdder();
    final LongAdder bytesFromClients = new LongAdder();
    final LongAdder bytesToClients = new LongAdder();
    /** The tenant's counters over all its ports, which outlive this forward (stored, billed). */
    final TenantTraffic.Counters tenantTraffic;

    Forward(String tenant, String service, int publicPort, Upstream upstream, ForwardOptions options,
            TenantTraffic.Counters tenantTraffic) {
        this.tenantTraffic = tenantTraffic;
        this.tenant = tenant;
        this.service = service;
        this.publicPort = publicPort;
        this.siteName = tenant + "/" + service + ":" + publicPort;
        this.upstream = upstream;
        this.options = options;
    }

    /** Counts a new client in; false (and counted as refused) when over the limit. */
    boolean admit() {
        if (open.incrementAndGet() > options.maxConnections()) {
            open.decrementAndGet();
            refused.increment();
            return false;
        }
        accepted.increment();
        return true;
    }

    /** Admitted here, then refused by a client limit: counted as refused instead. */
    void refusedAfterAdmit() {
        open.decrementAndGet();
        accepted.decrement();
        refused.increment();
    }

    ForwardStats stats() {
        return new ForwardStats(tenant, service, publicPort, upstream, open.get(), accepted.sum(), refused.sum(),
                bytesFromClients.sum(), bytesToClients.sum());
    }
}
