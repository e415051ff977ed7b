package dev.emperor.proxy;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Which tenant answers which host name. Immutable: the proxy swaps a whole new table in when
 * the sites change, so a lookup never sees half an update.
 */
public final class SiteTable {

    /** A host name claimed by two tenants; the first keeps it, {@code loser} is refused it. */
    public record Conflict(String domain, String owner, String loser) {
        @Override
        public String toString() {
            return "domain " + domain + " of tenant " + loser + " is already served by tenant " + owner;
        }
    }

    /** A table plus the conflicts found building it (empty when every name had one owner). */
    public record Built(SiteTable table, List<Conflict> conflicts) {
    }

    public static final SiteTable EMPTY = new SiteTable(Map.of(), Map.of());

    private final Map<String, TenantSite> exact;
    /** Keyed by the suffix after "*." (so "*.x.com" is stored as "x.com"). */
    private final Map<String, TenantSite> wildcards;

    private SiteTable(Map<String, TenantSite> exact, Map<String, TenantSite> wildcards) {
        this.exact = exact;
        this.wildcards = wildcards;
    }

    /**
     * Builds a table; a name claimed twice stays with the site that came first, and the
     * conflict names both tenants so the supervisor can report it on the later one.
     */
    public static Built build(Collection<TenantSite> sites) {
        Map<String, TenantSite> exact = new HashMap<>();
        Map<String, TenantSite> wildcards = new HashMap<>();
        List<Conflict> conflicts = new ArrayList<>();
        for (TenantSite site : sites) {
            for (String domain : site.domains()) {
                String name = domain.toLowerCase(Locale.ROOT);
                boolean wildcard = name.startsWith("*.");
                String key = normalise(wildcard ? name.substring(2) : name);
                if (key == null) {
                    throw new IllegalArgumentException("tenant " + site.tenant() + ": bad domain " + domain);
                }
                Map<String, TenantSite> target = wildcard ? wildcards : exact;
                TenantSite owner = target.putIfAbsent(key, site);
                if (owner != null && !owner.tenant().equals(site.tenant())) {
                    conflicts.add(new Conflict(name, owner.tenant(), site.tenant()));
                }
            }
        }
        return new Built(new SiteTable(Map.copyOf(exact), Map.copyOf(wildcards)), List.copyOf(conflicts));
    }

    /**
     * The site for a Host header value, or null. Exact names win; then the wildcard with the
     * longest suffix ("*.a.x.com" before "*.x.com").
     */
    public TenantSite find(String hostHeader) {
        String host = hostOf(hostHeader);
        if (host == null) {
            return null;
        }
        TenantSite site = exact.get(host);
        // Walk up one label at a time: the first hit is the most specific wildcard.
        for (int dot = host.indexOf('.'); site == null && dot >= 0; dot = host.indexOf('.', dot + 1)) {
            site = wildcards.get(host.substring(dot + 1));
        }
        return site;
    }

    public boolean isEmpty() {
        return exact.isEmpty() && wildcards.isEmpty();
    }

    /**
     * The bare host name of a Host header value: lower case, without ":port" and the trailing
     * dot; null if it is not a plain DNS name or IPv4 literal (IPv6 literals are never site names).
     */
    public static String hostOf(String hostHeader) {
        if (hostHeader == null) {
            return null;
        }
        String host = hostHeader;
        int colon = host.indexOf(':');
        if (colon >= 0) {
            String port = host.substring(colon + 1);
            if (port.isEmpty() || port.length() > 5 || !port.chars().allMatch(c -> c >= '0' && c <= '9')) {
                return null;
            }
            host = host.substring(0, colon);
        }
        return normalise(host);
    }

    private static String normalise(String name) {
        String host = name.toLowerCase(Locale.ROOT);
        if (host.endsWith(".")) {
            host = host.substring(0, host.length() - 1);
        }
        if (host.isEmpty() || host.length() > 253) {
            return null;
        }
        int labelLength = 0;
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if (c == '.') {
                if (labelLength == 0) {
                    return null; // empty label: "a..b" or ".a"
                }
                labelLength = 0;
            } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
                if (++labelLength > 63) {
                    return null;
                }
            } else {
                return null;
            }
        }
        return labelLength == 0 ? null : host;
    }
}
