package dev.emperor.proxy;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every client connection the proxy holds (HTTP, HTTPS, public ports), counted at accept
 * against {@link ConnectionLimits}: in all, per client, and per client and site. Without
 * these, one client holding a site's whole connection limit in idle keep-alive connections
 * made that site answer 503 to everybody, and enough connections from anywhere ran the
 * process out of file descriptors.
 *
 * <p>From {@link ConnectionLimits#shedAt} open connections on, each accept closes a batch of
 * the oldest idle keep-alive connections (HTTP/1.1 between requests, HTTP/2 with no open
 * stream, a new connection that has not sent a request yet) before the total is reached, so
 * real requests find room; only if the total is reached anyway are new ones closed at accept.
 * Refusals and closes are counted ({@link #counts}) and logged at most once per 10 s.
 */
public final class ClientConnections {

    private static final Logger LOG = LoggerFactory.getLogger(ClientConnections.class);
    private static final AttributeKey<Client> CLIENT = AttributeKey.valueOf("emperor.clientConnection");
    private static final long LOG_EVERY = TimeUnit.SECONDS.toNanos(10);
    private static final long SCAN_EVERY = TimeUnit.MILLISECONDS.toNanos(10);
    private static final long SCAN_PAUSE = TimeUnit.MILLISECONDS.toNanos(100);

    /** What the counters say (since start). */
    public record Counts(int open, long refusedPerClient, long refusedPerSite, long refusedTotal, long shedIdle) {}

    private volatile ConnectionLimits limits;
    private final AtomicInteger open = new AtomicInteger();
    /** Open connections per client; an entry goes when its count reaches 0 (addresses are many). */
    private final ConcurrentHashMap<ClientKey, Integer> perClient = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<SiteClient, Integer> perSite = new ConcurrentHashMap<>();
    /** The connections that may be closed when idle (HTTP and HTTPS; not public ports). */
    private final Set<Client> sheddable = ConcurrentHashMap.newKeySet();
    private final ReentrantLock shedding = new ReentrantLock();
    private final LongAdder refusedPerClient = new LongAdder();
    private final LongAdder refusedPerSite = new LongAdder();
    private final LongAdder refusedTotal = new LongAdder();
    private final LongAdder shedIdle = new LongAdder();
    private final AtomicLong lastLog = new AtomicLong(System.nanoTime() - LOG_EVERY);
    /**
     * No scan before this (System.nanoTime()): at most one every {@link #SCAN_EVERY}, and none
     * for {@link #SCAN_PAUSE} after one that found too few idle connections, so a crowd of busy
     * connections near the total cannot make every accept walk all of them.
     */
    private volatile long nextScan = System.nanoTime();

    private record SiteClient(String site, ClientKey client) {}

    public ClientConnections(ConnectionLimits limits) {
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    /** Limits for connections accepted from now on (SIGHUP); open ones are not closed. */
    public void use(ConnectionLimits limits) {
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    public ConnectionLimits limits() {
        return limits;
    }

    /** The connection's entry, or null if it was never admitted here (or is an HTTP/2 stream's parent's). */
    public static Client of(Channel channel) {
        Client client = channel.attr(CLIENT).get();
        if (client == null && channel.parent() != null) {
            client = channel.parent().attr(CLIENT).get(); // an HTTP/2 stream: its connection's
        }
        return client;
    }

    /**
     * Counts a just-accepted connection in; null if it is over a limit (the caller closes it,
     * nothing read or written: the client sees the connection closed at once). A connection
     * admitted is counted out when it closes, or by {@link Client#release} if it never gets
     * registered.
     *
     * @param sheddable the connection may be closed while idle between requests (HTTP);
     *                  it counts as idle until {@link Client#busy}
     */
    public Client admit(Channel channel, boolean sheddable) {
        ConnectionLimits limits = this.limits;
        if (open.get() >= limits.shedAt()) {
            shedIdle(limits);
        }
        if (open.incrementAndGet() > limits.total()) {
            open.decrementAndGet();
            refused(refusedTotal);
            return null;
        }
        ClientKey key = ClientKey.of(channel.remoteAddress());
        if (!acquire(perClient, key, limits.perClient())) {
            open.decrementAndGet();
            refused(refusedPerClient);
            return null;
        }
        Client client = new Client(key, channel, sheddable);
        channel.attr(CLIENT).set(client);
        if (sheddable) {
            this.sheddable.add(client);
        }
        channel.closeFuture().addListener(f -> client.release());
        return client;
    }

    public Counts counts() {
        return new Counts(open.get(), refusedPerClient.sum(), refusedPerSite.sum(), refusedTotal.sum(), shedIdle.sum());
    }

    /** Client connections open now. */
    public int open() {
        return open.get();
    }

    /**
     * Closes the oldest idle connections, enough to get a batch below the shedding mark. One
     * thread at a time scans (the others accept on); each close happens on the connection's
     * own loop, and only if it is still idle there.
     */
    private void shedIdle(ConnectionLimits limits) {
        long now = System.nanoTime();
        if (now - nextScan < 0 || !shedding.tryLock()) {
            return;
        }
        try {
            int wanted = open.get() - (limits.shedAt() - limits.shedBatch());
            if (wanted <= 0) {
                return;
            }
            List<Client> idle = new ArrayList<>();
            for (Client client : sheddable) {
                if (client.idleSince != 0 && !client.closing) {
                    idle.add(client);
                }
            }
            idle.sort(Comparator.comparingLong(c -> c.idleSince));
            for (Client client : idle.subList(0, Math.min(wanted, idle.size()))) {
                client.closing = true; // later scans pass it over until it is gone
                client.channel.eventLoop().execute(() -> {
                    if (client.idleSince != 0 && client.channel.isOpen()) {
                        shedIdle.increment();
                        client.channel.close();
                        logNow();
                    } else {
                        client.closing = false; // a request came first: it stays
                    }
                });
            }
            nextScan = now + (idle.size() < wanted ? SCAN_PAUSE : SCAN_EVERY);
        } finally {
            shedding.unlock();
        }
    }

    private static <K> boolean acquire(ConcurrentHashMap<K, Integer> counts, K key, int max) {
        boolean[] got = new boolean[1];
        counts.compute(key, (k, n) -> {
            int now = n == null ? 0 : n;
            if (now >= max) {
                return n;
            }
            got[0] = true;
            return now + 1;
        });
        return got[0];
    }

    private static <K> void release(ConcurrentHashMap<K, Integer> counts, K key) {
        counts.computeIfPresent(key, (k, n) -> n <= 1 ? null : n - 1);
    }

    private void refused(LongAdder counter) {
        counter.increment();
        logNow();
    }

    /** At most one line per 10 s, whatever the flood. */
    private void logNow() {
        long last = lastLog.get();
        long now = System.nanoTime();
        if (now - last >= LOG_EVERY && lastLog.compareAndSet(last, now)) {
            Counts c = counts();
            ConnectionLimits l = limits;
            LOG.warn("front proxy connections: {} open (max-connections {}); since start refused {} over"
                    + " client-max-connections {}, {} over client-max-connections-per-site {}, {} over max-connections;"
                    + " closed {} idle keep-alive connections to make room", c.open(), l.total(), c.refusedPerClient(),
                    l.perClient(), c.refusedPerSite(), l.perClientPerSite(), c.refusedTotal(), c.shedIdle());
        }
    }

    /** One admitted connection: who it is from, whether it is idle, the sites it holds a place on. */
    public final class Client {
        private final ClientKey key;
        private final Channel channel;
        private final boolean canShed;
        /** System.nanoTime() when it last became idle (never 0 then); 0 while busy. Read by the shedder. */
        private volatile long idleSince;
        /** Chosen to be closed as idle; the close is on its way to its event loop. */
        private volatile boolean closing;
        /** Sites this connection holds a per-client place on; touched on its event loop only. */
        private final List<String> sites = new ArrayList<>(1);
        private final AtomicBoolean released = new AtomicBoolean();

        private Client(ClientKey key, Channel channel, boolean canShed) {
            this.key = key;
            this.channel = channel;
            this.canShed = canShed;
            if (canShed) {
                idle();
            }
        }

        public ClientKey key() {
            return key;
        }

        /** A request (or an HTTP/2 stream, or a WebSocket) is in progress: never closed as idle. */
        public void busy() {
            idleSince = 0;
        }

        /** Between requests: may be closed, oldest first, when connections run short. */
        public void idle() {
            if (canShed) {
                long now = System.nanoTime();
                idleSince = now == 0 ? 1 : now;
            }
        }

        /**
         * Takes a place for this connection's client on {@code site}, which takes
         * {@code siteMax} connections in all; true if it has one (already or now). With
         * {@code only}, places on other sites are given back (an HTTP/1.1 connection serves
         * one site at a time; an HTTP/2 one may serve several at once). On the event loop.
         */
        public boolean holdSite(String site, int siteMax, boolean only) {
            if (sites.contains(site)) {
                return true;
            }
            if (only) {
                releaseSites();
            }
            if (!acquire(perSite, new SiteClient(site, key), limits.perClientOn(siteMax))) {
                refused(refusedPerSite);
                return false;
            }
            sites.add(site);
            return true;
        }

        private void releaseSites() {
            for (String site : sites) {
                ClientConnections.release(perSite, new SiteClient(site, key));
            }
            sites.clear();
        }

        /** Counts the connection out (once): when it closes, or when it was refused before registering. */
        public void release() {
            if (released.compareAndSet(false, true)) {
                releaseSites();
                if (canShed) {
                    sheddable.remove(this);
                }
                ClientConnections.release(perClient, key);
                open.decrementAndGet();
            }
        }
    }
}
