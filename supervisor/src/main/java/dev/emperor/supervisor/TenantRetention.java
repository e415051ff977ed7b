package dev.emperor.supervisor;

import dev.emperor.supervisor.config.EmperorConfig;
import dev.emperor.supervisor.identity.Retention;
import dev.emperor.supervisor.lifecycle.TenantLauncher;
import dev.emperor.supervisor.logs.TenantLogs;
import dev.emperor.supervisor.network.TenantNetwork;
import dev.emperor.supervisor.state.EventKind;
import dev.emperor.supervisor.state.StateStore;
import dev.emperor.supervisor.web.StoredTraffic;
import dev.emperor.tunrouter.Cidr;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retired tenants (file removed, identity and data kept for the name): purges them when their
 * retention (emperor.ini's {@code retain}) is over, or when the operator says so.
 */
final class TenantRetention implements AutoCloseable {
    /** Emperor's logger: its lines read as they did before this class was split out of it. */
    private static final Logger log = LoggerFactory.getLogger(Emperor.class);

    private final Supplier<EmperorConfig> config;
    private final StateStore store;
    private final VassalRegistry vassals;
    private final TenantLauncher launcher;
    private final TenantLogs logs;
    private final TenantNetwork network;
    private final FrontProxyWiring proxy;
    /**
     * Expiry checks and their purges, on a thread of their own: deleting a big home must not
     * delay the grace-period kills and back-off on the emperor's timers.
     */
    private final ScheduledExecutorService retention = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().name("emperor-retention").daemon().unstarted(r));
    /** The next expiry check; only the retention thread touches it. */
    private ScheduledFuture<?> expiryCheck;

    TenantRetention(Supplier<EmperorConfig> config, StateStore store, VassalRegistry vassals, TenantLauncher launcher,
            TenantLogs logs, TenantNetwork network, FrontProxyWiring proxy) {
        this.config = config;
        this.store = store;
        this.vassals = vassals;
        this.launcher = launcher;
        this.logs = logs;
        this.network = network;
        this.proxy = proxy;
    }

    /** Why `emperor purge` did nothing; the message names the tenant and what to do. */
    public static final class PurgeRefused extends Exception {
        private final boolean attempted;

        PurgeRefused(String message, boolean attempted) {
            super(message);
            this.attempted = attempted;
        }

        /** Whether the purge was tried and failed (its data in use), rather than not allowed. */
        public boolean attempted() {
            return attempted;
        }
    }

    /** Retired tenants and when they were retired, oldest first (for status). */
    Map<String, Instant> retired() {
        return store.identities().retired();
    }

    /**
     * Ends a retired tenant: its home, disk image, logs, certificate and domains are deleted
     * and its name is free; its uids, address and public ports stay used under a label no
     * tenant can have, so nobody ever gets them again. A later tenant of the name is new.
     *
     * <p>Done holding the name in the registry, as a vassal's forget is: a file of the name
     * arriving meanwhile waits, then finds nothing of the old tenant. A name with a vassal (a
     * file, or a removed one still stopping) is refused: only a retired tenant can be purged.
     *
     * @return what was released, for the operator
     */
    String purge(String name, String why) throws PurgeRefused {
        List<Path> aside = new ArrayList<>();
        String[] done = new String[1];
        try {
            vassals.holdingName(name, current -> {
                if (current != null) {
                    throw new PurgeInterrupted("tenant " + name + " is live (" + current.state().label()
                            + "); only a retired tenant can be purged: remove its vassal file first", false);
                }
                Optional<Instant> retiredAt = store.identities().retiredAt(name);
                if (retiredAt.isEmpty()) throw new PurgeInterrupted("no retired tenant named '" + name + "'", false);
                Optional<Integer> uid = store.uids().of(name);
                Optional<Integer> address = store.addresses().of(name);
                List<Integer> ports = store.ports().ofTenant(name).stream().map(p -> p.publicPort()).toList();
                try {
                    launcher.setAsideData(name, aside); // first: a crash after it leaves nothing on the name
                    logs.delete(name);
                } catch (RuntimeException | IOException e) {
                    throw new PurgeInterrupted("tenant " + name + " was not purged: " + e.getMessage(), true);
                }
                String tombstone = name + "@purged-" + System.currentTimeMillis(); // '@' is in no tenant name
                // The traffic counters go to the tombstone with the rest (the bill of the customer
                // who left): a later tenant of the name counts from zero. The proxy's in-memory
                // counts go first, so no later flush writes them back under the name; the
                // network's cache after, so no status read in between leaves the old ones there.
                StoredTraffic storedTraffic = proxy.storedTraffic();
                if (storedTraffic != null) storedTraffic.forget(name);
                store.identities().purge(name, tombstone);
                network.forgetTraffic(name);
                List<String> domains = proxy.routes().purged(name);
                done[0] = "purged (" + why + "): home, disk image, logs and certificate deleted; domains released "
                        + (domains.isEmpty() ? "(none)" : domains.toString()) + "; uid " + uid.map(String::valueOf).orElse("-")
                        + ", address " + address.map(Cidr::format).orElse("-") + " and public ports "
                        + ports + " are never given to anyone again; a later tenant named " + name + " is new";
                store.events().record(name, EventKind.IDENTITY, done[0]);
                log.info("vassal {}: {}", name, done[0]);
            });
        } catch (PurgeInterrupted e) {
            throw new PurgeRefused(e.getMessage(), e.attempted);
        } finally {
            launcher.deleteSetAside(aside); // outside the name's hold: a big home takes a while
        }
        return done[0];
    }

    /** Carries a refusal out of {@link #purge}'s hold on the name (which takes no checked exception). */
    private static final class PurgeInterrupted extends RuntimeException {
        final boolean attempted;

        PurgeInterrupted(String message, boolean attempted) {
            super(message, null, false, false);
            this.attempted = attempted;
        }
    }

    /** Checks for expired retirements now, on the retention thread (at start, and when a tenant is newly retired). */
    void checkSoon() {
        try {
            retention.execute(this::expireRetired);
        } catch (RejectedExecutionException e) {
            // the emperor is closing: the next one checks at its start
        }
    }

    /** Purges every retired tenant whose retention is over, then schedules the next check. */
    private void expireRetired() {
        Instant now = Instant.now();
        try {
            Duration retain = config.get().retain();
            for (String name : Retention.expired(store.identities().retired(), retain, now)) {
                try {
                    purge(name, "retention of " + Retention.describe(retain) + " over");
                } catch (PurgeRefused e) {
                    // live: its file came back as the retention ended, and it is the same tenant
                    if (e.attempted()) log.error("vassal {}: retention over, but {} (tried again in a minute)", name,
                            e.getMessage());
                }
            }
        } catch (RuntimeException e) {
            log.error("checking retired tenants for expiry: {}", e.toString());
        } finally {
            scheduleExpiry(now);
        }
    }

    /** Runs on the retention thread only (so one check at a time). */
    private void scheduleExpiry(Instant checkedAt) {
        if (expiryCheck != null) expiryCheck.cancel(false);
        if (retention.isShutdown()) return;
        Duration wait = Retention.nextCheck(store.identities().retired(), config.get().retain(), checkedAt);
        expiryCheck = retention.schedule(this::expireRetired, wait.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The next check is cancelled; a purge under way finishes first (up to 10 s). */
    @Override
    public void close() {
        retention.shutdownNow();
        try {
            retention.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
