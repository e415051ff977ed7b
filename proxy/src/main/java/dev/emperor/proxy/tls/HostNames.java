package dev.emperor.proxy.tls;

import java.util.Collection;
import java.util.Locale;

/**
 * The two wildcard rules the TLS side needs, kept apart because they differ:
 * <ul>
 * <li>a certificate name {@code *.a.com} covers exactly one more label ({@code x.a.com}, not
 *     {@code y.x.a.com}, not {@code a.com}), as browsers apply it (RFC 6125 6.4.3);</li>
 * <li>a tenant domain {@code *.a.com} claims every name below a.com, at any depth (see
 *     {@link dev.emperor.proxy.TenantSite}).</li>
 * </ul>
 * All names are compared in lower case without a trailing dot.
 */
final class HostNames {

    private HostNames() {
    }

    static String normalize(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }

    /** Does certificate name {@code certName} (maybe {@code *.x}) cover host {@code host}? */
    static boolean certificateCovers(String certName, String host) {
        if (!certName.startsWith("*.")) {
            return certName.equals(host);
        }
        int dot = host.indexOf('.');
        return dot > 0 && host.substring(dot + 1).equals(certName.substring(2));
    }

    static boolean certificateCoversAny(Collection<String> certNames, String host) {
        for (String name : certNames) {
            if (certificateCovers(name, host)) {
                return true;
            }
        }
        return false;
    }

    /** Does tenant domain {@code domain} (maybe {@code *.x}) claim host {@code host}? */
    static boolean domainClaims(String domain, String host) {
        if (!domain.startsWith("*.")) {
            return domain.equals(host);
        }
        return host.endsWith(domain.substring(1)); // ".x": strictly below x
    }

    /**
     * Is every host a certificate name can ever cover claimed by one of the tenant's domains?
     * A certificate wildcard {@code *.s} stays inside if the tenant owns {@code *.s} or a
     * wildcard above it; no exact tenant domain can contain a wildcard.
     */
    static boolean withinDomains(String certName, Collection<String> domains) {
        for (String domain : domains) {
            if (!certName.startsWith("*.")) {
                if (domainClaims(domain, certName)) {
                    return true;
                }
            } else if (domain.startsWith("*.")) {
                String suffix = certName.substring(2);
                String owned = domain.substring(2);
                if (suffix.equals(owned) || suffix.endsWith("." + owned)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** A DNS name as certificates carry it: letters, digits, '-', labels, optionally "*." first. */
    static boolean isValidCertificateName(String name) {
        String rest = name.startsWith("*.") ? name.substring(2) : name;
        if (rest.isEmpty() || rest.length() > 253 || !rest.contains(".") && name.startsWith("*.")) {
            return false;
        }
        for (String label : rest.split("\\.", -1)) {
            if (label.isEmpty() || label.length() > 63 || label.startsWith("-") || label.endsWith("-")) {
                return false;
            }
            for (int i = 0; i < label.length(); i++) {
                char c = label.charAt(i);
                if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_')) {
                    return false;
                }
            }
        }
        return true;
    }
}
