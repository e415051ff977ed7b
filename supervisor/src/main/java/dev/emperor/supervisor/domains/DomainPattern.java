package dev.emperor.supervisor.domains;

import java.util.Locale;

/**
 * The matching rule of tenant domains, as the front proxy's {@code SiteTable} routes them:
 * {@code shop.example} is that one name; {@code *.shop.example} is every name strictly below
 * shop.example, at any depth ({@code api.shop.example}, {@code a.b.shop.example}), but not
 * {@code shop.example} itself. Names compare in lower case, without a trailing dot.
 *
 * <p>Two questions are asked of patterns: do two of them share a name ({@link #overlaps}: two
 * tenants may never hold overlapping patterns, or one could take requests meant for the other),
 * and does one contain every name of the other ({@link #contains}: the operator's
 * {@code domain-allow} and approvals).
 */
public final class DomainPattern {

    private DomainPattern() {
    }

    /** Lower case, without surrounding blanks and a trailing dot. */
    public static String normalize(String pattern) {
        String name = pattern.strip().toLowerCase(Locale.ROOT);
        return name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    }

    /** Whether a normalized pattern is a wildcard ({@code *.suffix}). */
    public static boolean isWildcard(String pattern) {
        return pattern.startsWith("*.");
    }

    /** The name a wildcard hangs below ({@code shop.example} of {@code *.shop.example}); the name itself otherwise. */
    public static String base(String pattern) {
        return isWildcard(pattern) ? pattern.substring(2) : pattern;
    }

    /** Whether some host name is matched by both normalized patterns. */
    public static boolean overlaps(String a, String b) {
        return contains(a, b) || contains(b, a);
    }

    /**
     * Whether every host name {@code inner} matches is also matched by {@code outer} (both
     * normalized). Among these patterns two sets of names either nest or are disjoint, which is
     * why {@link #overlaps} is containment one way or the other.
     */
    public static boolean contains(String outer, String inner) {
        if (!isWildcard(outer)) {
            return outer.equals(inner);
        }
        String suffix = base(outer);
        String innerBase = base(inner);
        // *.s matches x.s and below; a wildcard *.s is within *.s, and *.t within *.s when t is below s
        return innerBase.endsWith("." + suffix) || (isWildcard(inner) && innerBase.equals(suffix));
    }

    /** Whether the normalized pattern matches this host (lower case, no trailing dot). */
    public static boolean matches(String pattern, String host) {
        return isWildcard(pattern) ? host.endsWith("." + base(pattern)) : pattern.equals(host);
    }
}
