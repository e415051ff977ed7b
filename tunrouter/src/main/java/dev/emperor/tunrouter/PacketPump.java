package dev.emperor.tunrouter;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves packets between the gateway's descriptor ({@code emperor0}) and every attached tenant's
 * {@code tun0} descriptor, on one platform thread that waits in {@code epoll}. Each frame is read
 * into one preallocated direct buffer, handed to the {@link Router}, and written to the
 * descriptor the router names (or nowhere: the router has counted the drop).
 *
 * <p>Fair share: the pump's time is what tenants contend for (every tenant's traffic crosses it
 * and the one gateway). Tenants with frames waiting are read in {@link DeficitRoundRobin deficit
 * round robin} over pump time: each turn a tenant may take {@value #QUANTUM_NANOS} ns, a frame
 * costing the time its read, routing and write took (bytes would be a poor measure: a small
 * frame costs the pump a third of a 64 KiB one). A flooder's excess waits in its own
 * {@code tun0}, where its own kernel drops it. A tenant that was idle goes first (a ping, a DNS
 * query, an ACK waits for no flooder's turn), a backlogged one at most one turn of each other
 * tenant; the loop serves one turn per pass, so the gateway waits one turn at most. An
 * optional rate per tenant
 * ({@link #setRate}) is a {@link TokenBucket} each way: over it, its frames out stay in its
 * {@code tun0} until tokens come back, and frames in for it are dropped as
 * {@link DropReason#OVER_RATE}.
 *
 * <p>Back-pressure: a write that fails with EAGAIN queues the frame and waits for the descriptor
 * to become writable. Frames to a tenant wait in that tenant's queue; frames to the gateway wait
 * in the sending tenant's own queue towards it, and those queues are written out in deficit
 * round robin too, so a flooder fills only its own. A full queue drops and counts
 * {@link DropReason#QUEUE_FULL} on its tenant. The pump never blocks.
 *
 * <p>The descriptors need only keep datagram boundaries and be non-blocking; the pump never
 * closes them: their owners do, after {@link #detach}. {@link #attach}, {@link #detach},
 * {@link #setRate} and {@link #close} may be called from any thread; they return once the pump
 * thread has applied them.
 */
public final class PacketPump implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PacketPump.class);

    /** At most this many frames per turn, whatever their cost. */
    static final int READ_BURST = 64;
    /**
     * Pump time (ns) a tenant may take per turn. Short, so that a round stays short (a quiet
     * tenant's frame waits one turn of each busy tenant); a longer frame is paid for over the
     * next turns.
     */
    static final long QUANTUM_NANOS = 20_000;
    /**
     * The most one frame is charged (ns): a frame that took longer had the pump thread
     * preempted, which is not the tenant's doing.
     */
    static final long MAX_CHARGE_NANOS = 1_000_000;
    private static final int MAX_EVENTS = 64;
    /**
     * A virtio header and the largest IPv4 datagram (a TCP super-packet with offloads); reading
     * into less would truncate frames the router must see whole.
     */
    private static final int READ_BUFFER_BYTES = TunDevice.VIRTIO_NET_HEADER_BYTES + 65535;
    private static final long KEY_WAKEUP = 0;
    private static final long KEY_GATEWAY = 1;
    private static final int FIRST_TENANT_KEY = 2;

    private final Router router;
    private final int queueFrames;
    private final int epollFd;
    private final int wakeupFd;
    private final Endpoint gateway;
    private final ConcurrentLinkedQueue<Runnable> commands = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private volatile boolean running = true;

    // Owned by the pump thread.
    private Endpoint[] tenants = new Endpoint[16];
    /** Tenants with frames waiting in their tun0, served in turn. */
    private final DeficitRoundRobin readRound = new DeficitRoundRobin(QUANTUM_NANOS);
    /** Tenants with frames queued towards the full gateway, written out in turn. */
    private final DeficitRoundRobin gatewayRound = new DeficitRoundRobin(QUANTUM_NANOS);
    /** Per tenant id: its rate in bytes per second, 0 = none (kept for ids not attached yet). */
    private long[] rates = new long[16];
    private int throttled;
    private int limitedTenants;
    /** Whether any tenant has a rate: only then does the packet path read the clock. */
    private boolean anyLimited;
    private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(READ_BUFFER_BYTES);
    private final Pointer readPointer = Native.getDirectBufferPointer(readBuffer);
    private final Memory events = new Memory((long) MAX_EVENTS * LibC.EPOLL_EVENT_SIZE);
    private final Memory control = new Memory(LibC.EPOLL_EVENT_SIZE);
    private final Memory wakeupCounter = new Memory(8);

    /**
     * Starts the pump thread.
     *
     * @param gatewayFd   the non-blocking descriptor of {@code emperor0}
     * @param queueFrames how many frames each destination may hold while its descriptor is full
     */
    public PacketPump(Router router, int gatewayFd, int queueFrames) {
        this.router = Objects.requireNonNull(router, "router");
        if (queueFrames < 1) {
            throw new IllegalArgumentException("queue of " + queueFrames + " frames: must hold at least 1");
        }
        this.queueFrames = queueFrames;
        LibC libc = LibC.INSTANCE;
        try {
            epollFd = libc.epoll_create1(LibC.EPOLL_CLOEXEC);
        } catch (LastErrorException e) {
            throw new NetworkSetupException(LibC.describe("epoll_create1 for the packet pump", e), e);
        }
        try {
            wakeupFd = libc.eventfd(0, LibC.EFD_CLOEXEC | LibC.EFD_NONBLOCK);
        } catch (LastErrorException e) {
            LibC.closeQuietly(epollFd);
            throw new NetworkSetupException(LibC.describe("eventfd for the packet pump", e), e);
        }
        gateway = new Endpoint(-1, gatewayFd, KEY_GATEWAY, router.unattributed(), 0);
        try {
            register(LibC.EPOLL_CTL_ADD, wakeupFd, LibC.EPOLLIN, KEY_WAKEUP, "eventfd");
            register(LibC.EPOLL_CTL_ADD, gatewayFd, LibC.EPOLLIN, KEY_GATEWAY, "gateway fd " + gatewayFd);
        } catch (NetworkSetupException e) {
            LibC.closeQuietly(wakeupFd);
            LibC.closeQuietly(epollFd);
            throw e;
        }
        thread = Thread.ofPlatform().name("emperor-packet-pump").daemon(true).unstarted(this::run);
        thread.start();
    }

    /**
     * Starts moving packets for tenant {@code tenantId} (from {@link Router#attach}) through
     * its non-blocking tun descriptor.
     */
    public void attach(int tenantId, int tunFd) {
        if (tenantId < 0) {
            throw new IllegalArgumentException("tenant id " + tenantId + " is negative");
        }
        TenantCounters counters = router.counters(tenantId);
        submit(() -> {
            if (tenantId < tenants.length && tenants[tenantId] != null) {
                throw new IllegalArgumentException("tenant id " + tenantId + " is already attached to the pump");
            }
            Endpoint endpoint = new Endpoint(tenantId, tunFd, FIRST_TENANT_KEY + tenantId, counters, queueFrames);
            register(LibC.EPOLL_CTL_ADD, tunFd, LibC.EPOLLIN, endpoint.key, "tun fd " + tunFd + " of tenant id " + tenantId);
            long rate = tenantId < rates.length ? rates[tenantId] : 0;
            if (rate > 0) {
                endpoint.limit(rate, System.nanoTime());
            }
            if (tenantId >= tenants.length) {
                tenants = Arrays.copyOf(tenants, Math.max(tenants.length * 2, tenantId + 1));
            }
            tenants[tenantId] = endpoint;
        });
    }

    /**
     * Stops moving packets for tenant {@code tenantId}; frames still queued for it are discarded.
     * When this returns the pump no longer uses the descriptor, and its owner may close it.
     */
    public void detach(int tenantId) {
        submit(() -> {
            Endpoint endpoint = tenantId >= 0 && tenantId < tenants.length ? tenants[tenantId] : null;
            if (endpoint == null) {
                throw new IllegalArgumentException("tenant id " + tenantId + " is not attached to the pump");
            }
            tenants[tenantId] = null;
            endpoint.dead = true;
            if (endpoint.throttledUntil != 0) {
                throttled--;
            }
            readRound.remove(tenantId);
            gatewayRound.remove(tenantId);
            if (tenantId < rates.length) {
                rates[tenantId] = 0; // the id may be given to another tenant later
            }
            unregister(endpoint);
        });
    }

    /**
     * Limits tenant {@code tenantId} to {@code bytesPerSecond} each way ({@code net-rate}), or
     * lifts the limit with 0. Applies at once, or at the {@link #attach} of that id; {@link #detach}
     * forgets it.
     */
    public void setRate(int tenantId, long bytesPerSecond) {
        if (tenantId < 0 || bytesPerSecond < 0) {
            throw new IllegalArgumentException("tenant id " + tenantId + ", rate " + bytesPerSecond + ": negative");
        }
        submit(() -> {
            if (tenantId >= rates.length) {
                rates = Arrays.copyOf(rates, Math.max(rates.length * 2, tenantId + 1));
            }
            rates[tenantId] = bytesPerSecond;
            Endpoint endpoint = tenantId < tenants.length ? tenants[tenantId] : null;
            if (endpoint == null) {
                return;
            }
            if (bytesPerSecond == 0) {
                endpoint.unlimit();
                if (endpoint.throttledUntil != 0) {
                    resume(endpoint);
                }
            } else {
                endpoint.limit(bytesPerSecond, System.nanoTime());
            }
        });
    }

    /** Stops the pump thread and releases its epoll and eventfd descriptors (not the tun descriptors). */
    @Override
    public void close() {
        if (!running) {
            return;
        }
        running = false;
        wake();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LibC.closeQuietly(wakeupFd);
        LibC.closeQuietly(epollFd);
    }

    private void submit(Runnable command) {
        if (!running) {
            throw new IllegalStateException("the packet pump is closed");
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        commands.add(() -> {
            try {
                command.run();
                done.complete(null);
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
        });
        wake();
        while (true) {
            try {
                done.get(100, TimeUnit.MILLISECONDS);
                return;
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException cause) {
                    throw cause;
                }
                throw new IllegalStateException(e.getCause());
            } catch (TimeoutException e) {
                if (!thread.isAlive() && !done.isDone()) {
                    throw new IllegalStateException("the packet pump has stopped");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the packet pump", e);
            }
        }
    }

    private void wake() {
        try (Memory one = new Memory(8)) {
            one.setLong(0, 1);
            PacketIo.write(wakeupFd, one, 8);
        }
    }

    private void run() {
        try {
            while (running) {
                // Tenants still waiting for their turn: only look for news, do not sleep.
                int timeout = readRound.isEmpty() ? throttleTimeoutMillis(System.nanoTime()) : 0;
                int ready = PacketIo.epoll_wait(epollFd, events, MAX_EVENTS, timeout);
                if (ready < 0) {
                    int errno = Native.getLastError();
                    if (errno == LibC.EINTR) {
                        continue;
                    }
                    log.error("packet pump stops: epoll_wait: {}", LibC.INSTANCE.strerror(errno));
                    break;
                }
                for (int i = 0; i < ready; i++) {
                    long offset = (long) i * LibC.EPOLL_EVENT_SIZE;
                    int flags = events.getInt(offset);
                    long key = events.getLong(offset + 4);
                    if (key == KEY_WAKEUP) {
                        PacketIo.read(wakeupFd, wakeupCounter, 8);
                        continue;
                    }
                    if (key == KEY_GATEWAY) {
                        if (gateway.dead) {
                            continue;
                        }
                        if ((flags & LibC.EPOLLOUT) != 0) {
                            flushToGateway();
                        }
                        if ((flags & (LibC.EPOLLIN | LibC.EPOLLERR | LibC.EPOLLHUP)) != 0) {
                            readGateway();
                        }
                        continue;
                    }
                    Endpoint endpoint = tenantByKey(key);
                    if (endpoint == null || endpoint.dead) {
                        continue; // detached earlier in this batch
                    }
                    if ((flags & LibC.EPOLLOUT) != 0) {
                        flush(endpoint);
                    }
                    if ((flags & (LibC.EPOLLIN | LibC.EPOLLERR | LibC.EPOLLHUP)) != 0) {
                        if (endpoint.throttledUntil == 0) {
                            readRound.activate(endpoint.tenantId);
                        } else if ((flags & (LibC.EPOLLERR | LibC.EPOLLHUP)) != 0) {
                            // A tun reports EPOLLERR only once its device is gone. Not read while
                            // over its rate, it would be reported again and again: stop polling it.
                            log.error("packet pump: {} failed while over its rate; no longer polling it", endpoint);
                            endpoint.throttledUntil = 0;
                            throttled--;
                            endpoint.dead = true;
                            unregister(endpoint);
                        }
                    }
                }
                if (throttled > 0) {
                    resumeDue(System.nanoTime());
                }
                serveOneTurn();
                // Commands last: a detach then never meets a stale event of this batch.
                Runnable command;
                while ((command = commands.poll()) != null) {
                    command.run();
                }
            }
        } catch (Throwable t) {
            log.error("packet pump stops", t);
        } finally {
            running = false;
            Runnable command;
            while ((command = commands.poll()) != null) {
                command.run(); // completes waiting callers; the epoll set is about to go anyway
            }
        }
    }

    /**
     * One tenant's turn, in deficit round robin order (sparse tenants first). One turn per
     * pass of the loop, not a whole round: between turns the loop looks at epoll again, so
     * frames from the gateway (every tenant's inbound traffic) wait for one turn at most, and a
     * tenant that just became ready is seen before the next flooder's turn.
     */
    private void serveOneTurn() {
        long now = throttled > 0 || anyLimited ? System.nanoTime() : 0;
        int id = readRound.startTurn();
        if (id < 0) {
            return;
        }
        Endpoint source = id < tenants.length ? tenants[id] : null;
        if (source == null || source.dead) {
            readRound.endTurn(id, false);
            return;
        }
        boolean backlogged = true;
        for (int frames = 0; frames < READ_BURST && readRound.hasBudget(id); frames++) {
            if (source.outRate != null && !source.outRate.mayPass(now)) {
                throttle(source, now);
                backlogged = false;
                break;
            }
            long start = System.nanoTime();
            long got = PacketIo.read(source.fd, readPointer, READ_BUFFER_BYTES);
            if (got <= 0) {
                int errno = got < 0 ? Native.getLastError() : LibC.EAGAIN;
                if (errno != LibC.EAGAIN && errno != LibC.EINTR) {
                    fail(source, "read", errno);
                }
                backlogged = false;
                break;
            }
            if (source.outRate != null) {
                source.outRate.take(got);
            }
            route(source, (int) got, now);
            readRound.charge(id, charge(start));
        }
        readRound.endTurn(id, backlogged);
    }

    /** Reads up to a burst of frames from the gateway (the one shared source of inbound frames). */
    private void readGateway() {
        long now = anyLimited ? System.nanoTime() : 0;
        for (int n = 0; n < READ_BURST; n++) {
            long got = PacketIo.read(gateway.fd, readPointer, READ_BUFFER_BYTES);
            if (got < 0) {
                int errno = Native.getLastError();
                if (errno != LibC.EAGAIN && errno != LibC.EINTR) {
                    fail(gateway, "read", errno);
                }
                return;
            }
            if (got == 0) {
                return;
            }
            route(gateway, (int) got, now);
        }
    }

    /** Routes the frame in the read buffer and sends it on. */
    private void route(Endpoint source, int length, long now) {
        readBuffer.clear().limit(length);
        int result = source.tenantId < 0 ? router.fromGateway(readBuffer) : router.fromTenant(source.tenantId, readBuffer);
        if (result == Router.TO_GATEWAY) {
            sendToGateway(source, length);
        } else if (result >= 0) {
            Endpoint destination = result < tenants.length ? tenants[result] : null;
            if (destination == null || destination.dead) {
                // attached to the router but not (or no longer) to the pump
                router.unattributed().countDrop(DropReason.NO_ROUTE);
            } else if (destination.inRate != null && !destination.inRate.mayPass(now)) {
                destination.counters.countDrop(DropReason.OVER_RATE);
            } else {
                if (destination.inRate != null) {
                    destination.inRate.take(length);
                }
                send(destination, destination.counters, length);
            }
        }
    }

    /**
     * Writes the frame to the gateway, or, while the gateway is full, queues it in the sending
     * tenant's own queue towards it: a flooder then fills its own queue, not a neighbour's.
     */
    private void sendToGateway(Endpoint source, int length) {
        if (gatewayRound.isEmpty()) {
            long written = PacketIo.write(gateway.fd, readPointer, length);
            if (written >= 0) {
                return;
            }
            int errno = Native.getLastError();
            if (errno != LibC.EAGAIN) {
                writeFailed(gateway, source.counters, errno);
                return;
            }
            register(LibC.EPOLL_CTL_MOD, gateway.fd, LibC.EPOLLIN | LibC.EPOLLOUT, KEY_GATEWAY, gateway.toString());
        }
        if (source.toGateway.full()) {
            source.counters.countDrop(DropReason.QUEUE_FULL);
            return;
        }
        source.toGateway.add(readBuffer, length);
        gatewayRound.activate(source.tenantId);
    }

    /** The gateway became writable: write out the tenants' queues towards it, in turn. */
    private void flushToGateway() {
        while (!gatewayRound.isEmpty()) {
            int id = gatewayRound.startTurn();
            Endpoint source = id < tenants.length ? tenants[id] : null;
            if (source == null || source.dead) {
                gatewayRound.endTurn(id, false);
                continue;
            }
            FrameQueue queue = source.toGateway;
            while (!queue.isEmpty() && gatewayRound.hasBudget(id)) {
                int length = queue.headLength();
                long start = System.nanoTime();
                long written = PacketIo.write(gateway.fd, queue.headPointer(), length);
                if (written < 0) {
                    int errno = Native.getLastError();
                    if (errno == LibC.EAGAIN) {
                        gatewayRound.endTurn(id, true);
                        return; // still waiting for writability
                    }
                    writeFailed(gateway, source.counters, errno);
                }
                gatewayRound.charge(id, charge(start));
                queue.removeHead();
            }
            gatewayRound.endTurn(id, !queue.isEmpty());
        }
        register(LibC.EPOLL_CTL_MOD, gateway.fd, LibC.EPOLLIN, KEY_GATEWAY, gateway.toString());
    }

    /** What a frame whose work began at {@code start} costs its tenant: the pump time it took. */
    private static long charge(long start) {
        return Math.min(MAX_CHARGE_NANOS, Math.max(1, System.nanoTime() - start));
    }

    /** The tenant is over its rate outwards: stop reading it until its bucket allows a frame. */
    private void throttle(Endpoint endpoint, long now) {
        endpoint.throttledUntil = Math.max(1, now + endpoint.outRate.nanosUntilPass(now));
        throttled++;
        updateInterest(endpoint);
    }

    private void resume(Endpoint endpoint) {
        endpoint.throttledUntil = 0;
        throttled--;
        updateInterest(endpoint);
        readRound.activate(endpoint.tenantId); // its tun0 most likely holds frames; a read finds out
    }

    private void resumeDue(long now) {
        for (Endpoint endpoint : tenants) {
            if (endpoint != null && endpoint.throttledUntil != 0 && endpoint.throttledUntil - now <= 0) {
                resume(endpoint);
            }
        }
    }

    /** How long epoll may sleep: until the first throttled tenant may send again, or for ever. */
    private int throttleTimeoutMillis(long now) {
        if (throttled == 0) {
            return -1;
        }
        long soonest = Long.MAX_VALUE;
        for (Endpoint endpoint : tenants) {
            if (endpoint != null && endpoint.throttledUntil != 0) {
                soonest = Math.min(soonest, endpoint.throttledUntil - now);
            }
        }
        return (int) Math.max(0, Math.min(1000, (soonest + 999_999) / 1_000_000));
    }

    private void updateInterest(Endpoint endpoint) {
        int flags = (endpoint.throttledUntil == 0 ? LibC.EPOLLIN : 0) | (endpoint.toTenant.isEmpty() ? 0 : LibC.EPOLLOUT);
        register(LibC.EPOLL_CTL_MOD, endpoint.fd, flags, endpoint.key, endpoint.toString());
    }

    private void writeFailed(Endpoint destination, TenantCounters blame, int errno) {
        blame.countDrop(DropReason.WRITE_FAILED);
        if (destination.writeErrorsLogged++ == 0) {
            log.warn("packet pump: write to {}: {} (further write errors there are only counted)",
                    destination, LibC.INSTANCE.strerror(errno));
        }
    }

    private Endpoint tenantByKey(long key) {
        long id = key - FIRST_TENANT_KEY;
        return id < tenants.length ? tenants[(int) id] : null;
    }

    /** Writes the frame in the read buffer to a tenant, or queues it; {@code blame} counts a drop. */
    private void send(Endpoint destination, TenantCounters blame, int length) {
        FrameQueue queue = destination.toTenant;
        if (queue.isEmpty()) {
            long written = PacketIo.write(destination.fd, readPointer, length);
            if (written >= 0) {
                return;
            }
            int errno = Native.getLastError();
            if (errno != LibC.EAGAIN) {
                writeFailed(destination, blame, errno);
                return;
            }
            queue.add(readBuffer, length);
            updateInterest(destination);
            return;
        }
        if (queue.full()) {
            blame.countDrop(DropReason.QUEUE_FULL);
            return;
        }
        queue.add(readBuffer, length);
    }

    /** The tenant's tun became writable: write out its queue, and stop waiting for writability once it is empty. */
    private void flush(Endpoint destination) {
        FrameQueue queue = destination.toTenant;
        while (!queue.isEmpty()) {
            long written = PacketIo.write(destination.fd, queue.headPointer(), queue.headLength());
            if (written < 0) {
                int errno = Native.getLastError();
                if (errno == LibC.EAGAIN) {
                    return;
                }
                destination.counters.countDrop(DropReason.WRITE_FAILED);
            }
            queue.removeHead();
        }
        updateInterest(destination);
    }

    private void fail(Endpoint endpoint, String step, int errno) {
        log.error("packet pump: {} on {}: {}; no longer polling it", step, endpoint, LibC.INSTANCE.strerror(errno));
        endpoint.dead = true;
        unregister(endpoint);
    }

    private void register(int op, int fd, int flags, long key, String what) {
        control.setInt(0, flags);
        control.setLong(4, key);
        if (PacketIo.epoll_ctl(epollFd, op, fd, control) < 0) {
            int errno = Native.getLastError();
            throw new NetworkSetupException("epoll_ctl " + what + ": " + LibC.INSTANCE.strerror(errno));
        }
    }

    private void unregister(Endpoint endpoint) {
        PacketIo.epoll_ctl(epollFd, LibC.EPOLL_CTL_DEL, endpoint.fd, control);
    }

    /** One descriptor the pump reads and writes, with its queues and limits. */
    private final class Endpoint {
        final int tenantId;
        final int fd;
        final long key;
        final TenantCounters counters;
        /** Frames waiting for this tenant's tun to become writable. */
        final FrameQueue toTenant;
        /** Frames from this tenant waiting for the gateway to become writable. */
        final FrameQueue toGateway;
        TokenBucket outRate;
        TokenBucket inRate;
        /** When a tenant over its rate outwards may be read again (System.nanoTime()); 0 = not throttled. */
        long throttledUntil;
        int writeErrorsLogged;
        boolean dead;

        Endpoint(int tenantId, int fd, long key, TenantCounters counters, int queueFrames) {
            this.tenantId = tenantId;
            this.fd = fd;
            this.key = key;
            this.counters = counters;
            this.toTenant = new FrameQueue(queueFrames);
            this.toGateway = new FrameQueue(queueFrames);
        }

        void limit(long bytesPerSecond, long now) {
            if (outRate == null) {
                limitedTenants++;
            }
            outRate = new TokenBucket(bytesPerSecond, now);
            inRate = new TokenBucket(bytesPerSecond, now);
            anyLimited = true;
        }

        void unlimit() {
            if (outRate != null && --limitedTenants == 0) {
                anyLimited = false;
            }
            outRate = null;
            inRate = null;
        }

        @Override
        public String toString() {
            return (tenantId < 0 ? "gateway" : "tenant id " + tenantId) + " fd " + fd;
        }
    }
}
