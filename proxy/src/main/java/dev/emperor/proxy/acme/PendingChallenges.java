package dev.emperor.proxy.acme;

import dev.emperor.proxy.AcmeChallenges;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * HTTP-01 challenges the issuer is waiting on, answered by the plain-HTTP listener.
 *
 * <p>An entry lives until its authorization is decided (the issuer removes it) or its
 * lifetime runs out, whichever comes first. It is deliberately NOT removed at the first
 * GET: a CA validates from several vantage points (Let's Encrypt's multi-perspective
 * validation), and each must get the answer.
 */
public final class PendingChallenges implements AcmeChallenges {

    /** Longer than any CA takes to validate; bounds what a forgotten entry can cost. */
    public static final Duration DEFAULT_LIFETIME = Duration.ofMinutes(10);

    private record Key(String host, String token) {
    }

    private record Entry(String keyAuthorization, Instant expires) {
    }

    private final ConcurrentHashMap<Key, Entry> pending = new ConcurrentHashMap<>();
    private final Clock clock;
    private final Duration lifetime;

    public PendingChallenges() {
        this(Clock.systemUTC(), DEFAULT_LIFETIME);
    }

    public PendingChallenges(Clock clock, Duration lifetime) {
        this.clock = clock;
        this.lifetime = lifetime;
    }

    public void add(String host, String token, String keyAuthorization) {
        Instant now = clock.instant();
        pending.values().removeIf(entry -> entry.expires().isBefore(now)); // sweep here: adds are rare
        pending.put(new Key(normalize(host), token), new Entry(keyAuthorization, now.plus(lifetime)));
    }

    public void remove(String host, String token) {
        pending.remove(new Key(normalize(host), token));
    }

    /** @param host the request's Host header (a port and a trailing dot are ignored) */
    @Override
    public Optional<String> keyAuthorization(String host, String token) {
        if (host == null || token == null) {
            return Optional.empty();
        }
        Key key = new Key(normalize(host), token);
        Entry entry = pending.get(key);
        if (entry == null) {
            return Optional.empty();
        }
        if (entry.expires().isBefore(clock.instant())) {
            pending.remove(key, entry);
            return Optional.empty();
        }
        return Optional.of(entry.keyAuthorization());
    }

    public int size() {
        return pending.size();
    }

    private static String normalize(String host) {
        String h = host.trim().toLowerCase(Locale.ROOT);
        int colon = h.lastIndexOf(':');
        if (colon > 0 && h.indexOf(':') == colon) { // name:port (IPv6 literals are never ACME names)
            h = h.substring(0, colon);
        }
        return h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
    }
}
