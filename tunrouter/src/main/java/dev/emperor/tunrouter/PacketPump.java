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
 * <p>Back-pressure: every destination has a bounded queue. A write that fails with EAGAIN puts
 * the frame in the destination's queue and waits for the descriptor to become writable; while a
 * queue holds frames, new frames for it join the queue, and when it is full they are dropped and
 * counted as {@link DropReason#QUEUE_FULL}. One tenant whose tun is full therefore never stalls
 * the others. Reads are taken at most {@value #READ_BURST} frames at a time from each ready
 * descriptor, so one busy tenant cannot starve the others either.
 *
 * <p>The descriptors need only keep datagram boundaries and be non-blocking; the pump never
 * closes them: their owners do, after {@link #detach}. {@link #attach}, {@link #detach} and
 * {@link #close} may be called from any thread; they return once the pump thread has applied
 * them.
 */
public final class PacketPump implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PacketPump.class);

    static final int READ_BURST = 64;
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
        gateway = new Endpoint(-1, gatewayFd, KEY_GATEWAY, router.unattributed(), queueFrames);
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
            unregister(endpoint);
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
                int ready = PacketIo.epoll_wait(epollFd, events, MAX_EVENTS, -1);
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
                    Endpoint endpoint = key == KEY_GATEWAY ? gateway : tenantByKey(key);
                    if (endpoint == null || endpoint.dead) {
                        continue; // detached earlier in this batch
                    }
                    if ((flags & LibC.EPOLLOUT) != 0) {
                        flush(endpoint);
                    }
                    if ((flags & (LibC.EPOLLIN | LibC.EPOLLERR | LibC.EPOLLHUP)) != 0) {
                        readFrom(endpoint);
                    }
                }
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

    private Endpoint tenantByKey(long key) {
        long id = key - FIRST_TENANT_KEY;
        return id < tenants.length ? tenants[(int) id] : null;
    }

    private void readFrom(Endpoint source) {
        for (int n = 0; n < READ_BURST; n++) {
            long got = PacketIo.read(source.fd, readPointer, READ_BUFFER_BYTES);
            if (got < 0) {
                int errno = Native.getLastError();
                if (errno == LibC.EAGAIN || errno == LibC.EINTR) {
                    return;
                }
                fail(source, "read", errno);
                return;
            }
            if (got == 0) {
                return;
            }
            readBuffer.clear().limit((int) got);
            int result = source.tenantId < 0 ? router.fromGateway(readBuffer) : router.fromTenant(source.tenantId, readBuffer);
            if (result == Router.TO_GATEWAY) {
                send(gateway, source.counters, (int) got);
            } else if (result >= 0) {
                Endpoint destination = result < tenants.length ? tenants[result] : null;
                if (destination == null || destination.dead) {
                    // attached to the router but not (or no longer) to the pump
                    router.unattributed().countDrop(DropReason.NO_ROUTE);
                } else {
                    send(destination, destination.counters, (int) got);
                }
            }
        }
    }

    /** Writes the frame in the read buffer to {@code destination}, or queues it; {@code blame} counts a drop. */
    private void send(Endpoint destination, TenantCounters blame, int length) {
        if (destination.queued == 0) {
            long written = PacketIo.write(destination.fd, readPointer, length);
            if (written >= 0) {
                return;
            }
            int errno = Native.getLastError();
            if (errno != LibC.EAGAIN) {
                blame.countDrop(DropReason.WRITE_FAILED);
                if (destination.writeErrorsLogged++ == 0) {
                    log.warn("packet pump: write to {}: {} (further write errors there are only counted)",
                            destination, LibC.INSTANCE.strerror(errno));
                }
                return;
            }
            destination.enqueue(readBuffer, length);
            register(LibC.EPOLL_CTL_MOD, destination.fd, LibC.EPOLLIN | LibC.EPOLLOUT, destination.key, destination.toString());
            return;
        }
        if (destination.queued == queueFrames) {
            blame.countDrop(DropReason.QUEUE_FULL);
            return;
        }
        destination.enqueue(readBuffer, length);
    }

    /** The destination became writable: write out its queue, and stop waiting for writability once it is empty. */
    private void flush(Endpoint destination) {
        while (destination.queued > 0) {
            int slot = destination.head;
            long written = PacketIo.write(destination.fd, destination.slotPointers[slot], destination.slotLengths[slot]);
            if (written < 0) {
                int errno = Native.getLastError();
                if (errno == LibC.EAGAIN) {
                    return;
                }
                destination.counters.countDrop(DropReason.WRITE_FAILED);
            }
            destination.head = (slot + 1) % queueFrames;
            destination.queued--;
        }
        register(LibC.EPOLL_CTL_MOD, destination.fd, LibC.EPOLLIN, destination.key, destination.toString());
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

    /** One descriptor the pump reads and writes, with its queue of frames waiting to be written. */
    private static final class Endpoint {
        final int tenantId;
        final int fd;
        final long key;
        final TenantCounters counters;
        final ByteBuffer[] slots;
        final Pointer[] slotPointers;
        final int[] slotLengths;
        int head;
        int queued;
        int writeErrorsLogged;
        boolean dead;

        Endpoint(int tenantId, int fd, long key, TenantCounters counters, int queueFrames) {
            this.tenantId = tenantId;
            this.fd = fd;
            this.key = key;
            this.counters = counters;
            this.slots = new ByteBuffer[queueFrames];
            this.slotPointers = new Pointer[queueFrames];
            this.slotLengths = new int[queueFrames];
        }

        /** Copies a frame into the next free slot; a slot's buffer is allocated on first use and kept. */
        void enqueue(ByteBuffer frame, int length) {
            int slot = (head + queued) % slots.length;
            if (slots[slot] == null || slots[slot].capacity() < length) {
                slots[slot] = ByteBuffer.allocateDirect(Math.max(length, 2048));
                slotPointers[slot] = Native.getDirectBufferPointer(slots[slot]);
            }
            slots[slot].clear();
            slots[slot].put(frame.duplicate().position(0).limit(length));
            slotLengths[slot] = length;
            queued++;
        }

        @Override
        public String toString() {
            return (tenantId < 0 ? "gateway" : "tenant id " + tenantId) + " fd " + fd;
        }
    }
}
