package dev.emperor.supervisor.domains;

import dev.emperor.supervisor.state.DomainApproval;
import dev.emperor.supervisor.state.DomainClaim;
import dev.emperor.supervisor.state.StateStore;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Who holds which domain: the first tenant to claim a name keeps it, across emperor restarts
 * and whatever order vassal files are read in, because every claim is recorded in the state
 * database with its time. A tenant can never hold a name that overlaps another tenant's (the
 * same name, a name below the other's wildcard, or a wildcard above the other's name; see
 * {@link DomainPattern}), so the proxy's site table and the certificate store never have to
 * choose between two tenants.
 *
 * <p>A claim ends only when its owner's file no longer names it ({@link #reconcile}), when the
 * owner is gone ({@link #releaseTenant}, the one place a removed tenant's names are let go), or
 * by the operator ({@link #transfer}, {@link #revoke}). An invalid file never calls any of
 * these, so a tenant whose file is broken for a while keeps its names.
 *
 * <p>With {@code domain-allow} patterns set, a tenant may newly claim only names inside them or
 * inside a name the operator approved for it ({@code emperor domain approve}); names it holds
 * already are not taken away when the patterns change (only a revoke does that).
 *
 * <p>Not thread-safe by itself: every method is synchronized. The indexes make each check a
 * few map look-ups, whatever the number of tenants.
 */
public final class DomainOwnership {

    /** Why a tenant does not get a name its file asks for; {@code owner} is null when no tenant holds it. */
    public record Refusal(String name, String owner, String reason) {
        @Override
        public String toString() {
            return "domain " + name + " refused: " + reason;
        }
    }

    /** What one reconciliation did for a tenant: names held (in its file's order), refused, newly claimed, released. */
    public record Outcome(List<String> held, List<Refusal> refused, List<String> claimed, List<String> released) {
    }

    /** An operator request that cannot be done, with the reason to show as is. */
    public static final class Refused extends Exception {
        public Refused(String message) {
            super(message);
        }
    }

    private final StateStore store;
    private final Supplier<List<String>> allowPatterns;
    private final Clock clock;
    private final Map<String, DomainClaim> claims = new HashMap<>();
    /** Exact names by their labels reversed ("example.shop.api"), so everything below a name is one range. */
    private final NavigableMap<String, DomainClaim> exact = new TreeMap<>();
    /** Wildcards by their base's labels reversed ("*.shop.example" under "example.shop"). */
    private final NavigableMap<String, DomainClaim> wildcards = new TreeMap<>();
    /** Each owner's names, so matching one tenant's file never walks everyone's claims. */
    private final Map<String, Set<String>> byOwner = new HashMap<>();
    private final Map<String, Set<String>> approvals = new HashMap<>();

    /**
     * @param allowPatterns the {@code domain-allow} patterns now in force (normalized); empty: any name may be claimed
     */
    public DomainOwnership(StateStore store, Supplier<List<String>> allowPatterns, Clock clock) {
        this.store = store;
        this.allowPatterns = allowPatterns;
        this.clock = clock;
        for (DomainClaim claim : store.domains().claims()) index(claim);
        for (DomainApproval approval : store.domains().approvals()) {
            approvals.computeIfAbsent(approval.tenant(), t -> new LinkedHashSet<>()).add(approval.name());
        }
    }

    /**
     * Brings the tenant's claims in line with its file's {@code wanted} domains: names it holds
     * and no longer wants are released, then each wanted name is held, claimed if free, or refused.
     */
    public synchronized Outcome reconcile(String tenant, Collection<String> wanted) {
        Set<String> names = new LinkedHashSet<>();
        for (String name : wanted) names.add(DomainPattern.normalize(name));
        List<String> released = new ArrayList<>();
        for (String name : heldBy(tenant)) {
            if (!names.contains(name)) released.add(name);
        }
        release(tenant, released);
        List<String> held = new ArrayList<>();
        List<Refusal> refused = new ArrayList<>();
        List<String> claimed = new ArrayList<>();
        for (String name : names) {
            DomainClaim current = claims.get(name);
            if (current != null && current.owner().equals(tenant)) {
                held.add(name);
                continue;
            }
            Optional<Refusal> refusal = refusal(tenant, name);
            if (refusal.isPresent()) {
                refused.add(refusal.get());
                continue;
            }
            DomainClaim claim = new DomainClaim(name, tenant, clock.instant().truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
            try {
                store.domains().claim(claim);
            } catch (RuntimeException e) {
                refused.add(new Refusal(name, null, "the claim could not be recorded: " + e.getMessage()));
                continue;
            }
            index(claim);
            held.add(name);
            claimed.add(name);
        }
        return new Outcome(List.copyOf(held), List.copyOf(refused), List.copyOf(claimed), List.copyOf(released));
    }

    /**
     * The tenant is gone: every name it holds is free again. The one place a tenant's names are
     * released when it leaves (today when its vassal file is removed; a purge will call it).
     */
    public synchronized List<String> releaseTenant(String tenant) {
        List<String> names = heldBy(tenant);
        release(tenant, names);
        return names;
    }

    /**
     * `emperor domain transfer NAME FROM TO`: {@code from}'s claim on {@code name}, and on the
     * names of {@code from} that it covers, go to {@code to}.
     *
     * @return the names transferred
     * @throws Refused if {@code from} does not hold the name, or holds a wildcard covering it
     */
    public synchronized List<String> transfer(String name, String from, String to) throws Refused {
        String pattern = DomainPattern.normalize(name);
        DomainClaim claim = claims.get(pattern);
        if (claim == null) throw new Refused("domain " + pattern + " is held by no tenant");
        if (!claim.owner().equals(from)) {
            throw new Refused("domain " + pattern + " is held by tenant " + claim.owner() + ", not " + from);
        }
        if (from.equals(to)) throw new Refused("domain " + pattern + " is held by tenant " + to + " already");
        List<String> moving = new ArrayList<>();
        for (String held : heldBy(from)) {
            if (DomainPattern.contains(pattern, held)) {
                moving.add(held);
            } else if (DomainPattern.overlaps(pattern, held)) {
                // keeping it would leave two tenants on overlapping names
                throw new Refused("tenant " + from + "'s " + held + " covers " + pattern + "; transfer " + held + " instead");
            }
        }
        var at = clock.instant().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        store.domains().transfer(moving, from, to, at);
        for (String moved : moving) {
            unindex(claims.get(moved));
            index(new DomainClaim(moved, to, at));
        }
        return moving;
    }

    /** `emperor domain approve NAME TENANT`: the tenant may claim the name (and names it covers) outside domain-allow. */
    public synchronized void approve(String name, String tenant) {
        String pattern = DomainPattern.normalize(name);
        store.domains().approve(new DomainApproval(pattern, tenant, clock.instant()));
        approvals.computeIfAbsent(tenant, t -> new LinkedHashSet<>()).add(pattern);
    }

    /**
     * `emperor domain revoke NAME TENANT`: withdraws the approval, and releases the tenant's
     * names that only it allowed (its file then shows them refused).
     *
     * @return the names released
     * @throws Refused if there was no such approval
     */
    public synchronized List<String> revoke(String name, String tenant) throws Refused {
        String pattern = DomainPattern.normalize(name);
        Set<String> mine = approvals.getOrDefault(tenant, Set.of());
        if (!mine.contains(pattern)) throw new Refused("tenant " + tenant + " has no approval for " + pattern);
        store.domains().revokeApproval(pattern, tenant);
        mine.remove(pattern);
        List<String> released = new ArrayList<>();
        for (String held : heldBy(tenant)) {
            if (!allowed(tenant, held)) released.add(held);
        }
        release(tenant, released);
        return released;
    }

    /** Who holds exactly this pattern, if anyone. */
    public synchronized Optional<DomainClaim> claim(String name) {
        return Optional.ofNullable(claims.get(DomainPattern.normalize(name)));
    }

    /** Every claim, by name. */
    public synchronized List<DomainClaim> claims() {
        return claims.values().stream().sorted(java.util.Comparator.comparing(DomainClaim::name)).toList();
    }

    /** Every approval, by name then tenant. */
    public synchronized List<DomainApproval> approvals() {
        return store.domains().approvals().stream()
                .sorted(java.util.Comparator.comparing(DomainApproval::name).thenComparing(DomainApproval::tenant)).toList();
    }

    /** The names the tenant holds, by name. */
    public synchronized List<String> heldBy(String tenant) {
        return byOwner.getOrDefault(tenant, Set.of()).stream().sorted().toList();
    }

    // ---- internals ------------------------------------------------------------------------

    /** Why the tenant may not claim this (free or foreign) name, or empty if it may. */
    private Optional<Refusal> refusal(String tenant, String name) {
        Optional<DomainClaim> other = overlapping(tenant, name);
        if (other.isPresent()) {
            DomainClaim owner = other.get();
            String how = owner.name().equals(name) ? ""
                    : DomainPattern.contains(owner.name(), name) ? "covered by " + owner.name() + ", "
                    : "covers " + owner.name() + ", ";
            return Optional.of(new Refusal(name, owner.owner(), how + "already served by tenant " + owner.owner()
                    + " (claimed " + owner.claimedAt() + ")"));
        }
        if (!allowed(tenant, name)) {
            return Optional.of(new Refusal(name, null, "outside domain-allow (" + String.join(", ", allowPatterns.get())
                    + "); the operator may allow it with `emperor domain approve " + name + " " + tenant + "`"));
        }
        return Optional.empty();
    }

    private boolean allowed(String tenant, String name) {
        List<String> patterns = allowPatterns.get();
        if (patterns.isEmpty()) return true;
        for (String pattern : patterns) {
            if (DomainPattern.contains(pattern, name)) return true;
        }
        for (String approved : approvals.getOrDefault(tenant, Set.of())) {
            if (DomainPattern.contains(approved, name)) return true;
        }
        return false;
    }

    /** A claim of another tenant that shares a host name with {@code name}, if any. */
    private Optional<DomainClaim> overlapping(String tenant, String name) {
        List<DomainClaim> found = new ArrayList<>();
        String base = DomainPattern.base(name);
        if (DomainPattern.isWildcard(name)) {
            // the same wildcard or one above it, and every name or wildcard below its base
            for (String suffix = base; suffix != null; suffix = parent(suffix)) found.add(wildcards.get(reversed(suffix)));
            String below = reversed(base) + ".";
            found.addAll(exact.subMap(below, below.substring(0, below.length() - 1) + "/").values());
            found.addAll(wildcards.subMap(below, below.substring(0, below.length() - 1) + "/").values());
        } else {
            found.add(exact.get(reversed(name)));
            for (String suffix = parent(name); suffix != null; suffix = parent(suffix)) found.add(wildcards.get(reversed(suffix)));
        }
        return found.stream().filter(c -> c != null && !c.owner().equals(tenant)).findFirst();
    }

    private void release(String tenant, List<String> names) {
        if (names.isEmpty()) return;
        store.domains().release(tenant, names);
        for (String name : names) unindex(claims.get(name));
    }

    private void index(DomainClaim claim) {
        claims.put(claim.name(), claim);
        byOwner.computeIfAbsent(claim.owner(), o -> new java.util.HashSet<>()).add(claim.name());
        if (DomainPattern.isWildcard(claim.name())) wildcards.put(reversed(DomainPattern.base(claim.name())), claim);
        else exact.put(reversed(claim.name()), claim);
    }

    private void unindex(DomainClaim claim) {
        if (claim == null) return;
        claims.remove(claim.name());
        Set<String> names = byOwner.get(claim.owner());
        names.remove(claim.name());
        if (names.isEmpty()) byOwner.remove(claim.owner());
        if (DomainPattern.isWildcard(claim.name())) wildcards.remove(reversed(DomainPattern.base(claim.name())));
        else exact.remove(reversed(claim.name()));
    }

    /** "a.b.c" without its first label, or null for a single label. */
    private static String parent(String name) {
        int dot = name.indexOf('.');
        return dot < 0 ? null : name.substring(dot + 1);
    }

    /** "api.shop.example" as "example.shop.api": names below another share its prefix. */
    private static String reversed(String name) {
        String[] labels = name.split("\\.");
        StringBuilder out = new StringBuilder(name.length());
        for (int i = labels.length - 1; i >= 0; i--) {
            out.append(labels[i]);
            if (i > 0) out.append('.');
        }
        return out.toString();
    }
}
