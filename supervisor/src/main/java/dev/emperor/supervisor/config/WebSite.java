package dev.emperor.supervisor.config;

import java.net.IDN;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What a vassal file says about the tenant's web site: the names the front proxy routes to
 * it and where its app listens. All of it applies to a running tenant without a restart.
 *
 * @param domains             host names, lower case; {@code *.example.com} = any name below it
 * @param upstream            where requests go
 * @param maintenance         show the maintenance page (or {@code maintenanceUpstream})
 * @param maintenanceUpstream a backend for maintenance time, or null for Emperor's page
 * @param httpsRedirect       answer plain HTTP with a redirect to https://
 * @param maxBodyBytes        largest request body forwarded
 * @param maxConnections      most client connections at once
 */
public record WebSite(
        List<String> domains,
        Upstream upstream,
        boolean maintenance,
        Upstream maintenanceUpstream,
        boolean httpsRedirect,
        long maxBodyBytes,
        int maxConnections) {

    public WebSite {
        domains = List.copyOf(domains);
        Objects.requireNonNull(upstream, "upstream");
    }

    /** A tenant's app, as its vassal file names it: tenant-relative, resolved by the supervisor. */
    public sealed interface Upstream {
        /** A unix socket directly in the tenant's /run: {@code /run/NAME}. */
        record RunSocket(String fileName) implements Upstream {
            @Override
            public String toString() {
                return "/run/" + fileName;
            }
        }

        /** A TCP port on the tenant's own (tun) address: {@code :PORT}. */
        record TunPort(int port) implements Upstream {
            @Override
            public String toString() {
                return ":" + port;
            }
        }
    }

    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
    private static final Pattern SOCKET_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}");

    /**
     * A {@code domain} value: an ASCII host name (international names in their {@code xn--}
     * form), at least two labels, optionally {@code *.} in front; returned in lower case.
     *
     * @throws IllegalArgumentException naming the problem
     */
    public static String parseDomain(String text) {
        String name = text.strip().toLowerCase(Locale.ROOT);
        if (name.endsWith(".")) name = name.substring(0, name.length() - 1);
        boolean wildcard = name.startsWith("*.");
        String rest = wildcard ? name.substring(2) : name;
        if (name.length() > 253) {
            throw new IllegalArgumentException("domain is longer than 253 characters");
        }
        for (int i = 0; i < rest.length(); i++) {
            if (rest.charAt(i) > 127) {
                throw new IllegalArgumentException("domain " + ConfigError.quote(text) + " is not ASCII: write it as "
                        + ConfigError.quote(asciiForm(rest)));
            }
        }
        String[] labels = rest.split("\\.", -1);
        if (labels.length < 2) {
            throw new IllegalArgumentException("domain " + ConfigError.quote(text)
                    + " needs at least two labels (like example.com)");
        }
        for (String label : labels) {
            if (!LABEL.matcher(label).matches()) {
                throw new IllegalArgumentException("domain " + ConfigError.quote(text) + ": label " + ConfigError.quote(label)
                        + " is not 1 to 63 of a-z, 0-9 and '-' (not at either end)"
                        + (label.contains("*") ? "; a wildcard is only allowed as the whole first label: *.example.com" : ""));
            }
        }
        return name;
    }

    private static String asciiForm(String unicode) {
        try {
            return IDN.toASCII(unicode);
        } catch (IllegalArgumentException e) {
            return "its xn-- form";
        }
    }

    /**
     * An {@code upstream} value: {@code /run/FILE} (a unix socket directly in the tenant's
     * /run; {@code /var/run/FILE} is the same) or {@code :PORT} on the tenant's own address.
     *
     * @throws IllegalArgumentException naming the problem
     */
    static Upstream parseUpstream(String text) {
        String value = text.strip();
        if (value.startsWith(":")) {
            String digits = value.substring(1);
            if (!digits.matches("[0-9]{1,5}") || Integer.parseInt(digits) < 1 || Integer.parseInt(digits) > 65535) {
                throw new IllegalArgumentException("port in " + ConfigError.quote(text) + " is not from 1 to 65535");
            }
            return new Upstream.TunPort(Integer.parseInt(digits));
        }
        for (String prefix : List.of("/run/", "/var/run/")) {
            if (value.startsWith(prefix)) {
                String file = value.substring(prefix.length());
                if (!SOCKET_NAME.matcher(file).matches() || file.equals(".") || file.equals("..")) {
                    throw new IllegalArgumentException(ConfigError.quote(text)
                            + ": the socket must be a file directly in /run (name of A-Z a-z 0-9 _ . -)");
                }
                return new Upstream.RunSocket(file);
            }
        }
        throw new IllegalArgumentException("expected /run/FILE (a unix socket in the tenant's /run) or :PORT"
                + " (a port on the tenant's own address), found " + ConfigError.quote(text));
    }
}
