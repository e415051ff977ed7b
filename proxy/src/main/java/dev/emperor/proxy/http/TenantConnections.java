package dev.emperor.proxy.http;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Client connections open per tenant, so one tenant's crowd cannot take every socket. */
final class TenantConnections {

    private final ConcurrentHashMap<String, AtomicInteger> open = new ConcurrentHashMap<>();

    boolean tryAcquire(String tenant, int max) {
        AtomicInteger count = open.computeIfAbsent(tenant, t -> new AtomicInteger());
        while (true) {
            int now = count.get();
            if (now >= max) {
                return false;
            }
            if (count.compareAndSet(now, now + 1)) {
                return true;
            }
        }
    }

    void release(String tenant) {
        AtomicInteger count = open.get(tenant);
        if (count != null) {
            count.decrementAndGet();
        }
    }

    int open(String tenant) {
        AtomicInteger count = open.get(tenant);
        return count == null ? 0 : count.get();
    }
}
