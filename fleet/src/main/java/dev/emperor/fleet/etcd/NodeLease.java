package dev.emperor.fleet.etcd;

import dev.emperor.fleet.safety.EtcdContact;
import dev.emperor.fleet.safety.FleetTiming;
import dev.emperor.fleet.safety.LeaseClock;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.lease.NoSuchLeaseException;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's etcd lease: granted once, kept alive by single keep-alive requests (not jetcd's
 * stream) so that each one's send time is known, which is what {@link LeaseClock} needs.
 *
 * <p>Explicit state: {@link State#HELD} while etcd has the lease (as far as the last answer
 * said), {@link State#LOST} once etcd answered that it has no such lease. A lost lease is never
 * replaced here: whoever owns this object must first stop what it ran under it.
 */
public final class NodeLease implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NodeLease.class);

    public enum State { HELD, LOST }

    private final Lease leases;
    private final FleetTiming timing;
    private final long id;
    private final LeaseClock clock = new LeaseClock();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fleet-lease");
        t.setDaemon(true);
        return t;
    });
    private long lastAnswerNanos;
    private State state = State.HELD;

    private NodeLease(Lease leases, FleetTiming timing, long id, long grantSentAt, long ttlSeconds) {
        this.leases = leases;
        this.timing = timing;
        this.id = id;
        confirmed(grantSentAt, ttlSeconds);
    }

    /** Grants a lease of {@code timing.leaseTtl()} and starts keeping it alive. */
    public static NodeLease grant(Lease leases, FleetTiming timing) throws EtcdUnavailable {
        long sentAt = System.nanoTime();
        try {
            var granted = leases.grant(timing.leaseTtl().toSeconds()).get(timing.leaseTtl().toMillis(), TimeUnit.MILLISECONDS);
            NodeLease lease = new NodeLease(leases, timing, granted.getID(), sentAt, granted.getTTL());
            lease.schedule();
            return lease;
        } catch (ExecutionException | TimeoutException e) {
            throw new EtcdUnavailable("granting the node's lease", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EtcdUnavailable("granting the node's lease", e);
        }
    }

    private void schedule() {
        long every = timing.keepAliveEvery().toNanos();
        timer.scheduleWithFixedDelay(this::keepAlive, every, every, TimeUnit.NANOSECONDS);
    }

    private void keepAlive() {
        if (state() == State.LOST) return;
        long sentAt = System.nanoTime();
        try {
            // an answer later than the keep-alive period is useless: the next send is due
            LeaseKeepAliveResponse answer = leases.keepAliveOnce(id)
                    .get(timing.keepAliveEvery().toMillis(), TimeUnit.MILLISECONDS);
            if (answer.getTTL() <= 0) lost("etcd answered TTL " + answer.getTTL());
            else confirmed(sentAt, answer.getTTL());
        } catch (ExecutionException e) {
            if (leaseNotFound(e.getCause())) lost("etcd has no such lease");
            else log.debug("keep-alive of lease {}: {}", Long.toHexString(id), e.getCause().toString());
            // anything else: no answer; the clock runs down by itself
        } catch (TimeoutException e) {
            log.debug("keep-alive of lease {}: no answer in time", Long.toHexString(id));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.warn("keep-alive of lease {} failed", Long.toHexString(id), e);
        }
    }

    /** etcd's answer for a lease it does not have (expired or revoked). */
    private static boolean leaseNotFound(Throwable failure) {
        return failure instanceof NoSuchLeaseException
                || failure instanceof EtcdException etcd && etcd.getErrorCode() == ErrorCode.NOT_FOUND;
    }

    private synchronized void confirmed(long sentAt, long ttlSeconds) {
        clock.confirmed(sentAt, Duration.ofSeconds(ttlSeconds));
        lastAnswerNanos = System.nanoTime();
    }

    private synchronized void lost(String why) {
        if (state == State.LOST) return;
        state = State.LOST;
        log.warn("the node's lease {} is gone ({})", Long.toHexString(id), why);
    }

    public long id() {
        return id;
    }

    public synchronized State state() {
        return state;
    }

    /** What is left of the lease's certain lifetime now (negative once past; zero once lost). */
    public synchronized Duration remaining() {
        return state == State.LOST ? Duration.ZERO : clock.remaining(System.nanoTime());
    }

    /** The lease is alive in etcd at least until this System.nanoTime() instant. */
    public synchronized long validUntilNanos() {
        return clock.validUntilNanos();
    }

    /** This node's contact with etcd now, as it reports it to peers. */
    public synchronized EtcdContact contact() {
        return EtcdContact.of(timing, true, lastAnswerNanos, System.nanoTime());
    }

    /** Stops keeping the lease alive: it expires in etcd after its TTL. */
    @Override
    public void close() {
        timer.shutdownNow();
    }
}
