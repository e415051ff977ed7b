package dev.emperor.supervisor.config;

import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Certificates from an ACME CA (Let's Encrypt, a private CA, pebble in tests) for tenants'
 * domains: on when emperor.ini gives {@code acme-directory}.
 *
 * @param directory the CA's directory URL ({@code https://...}) or an acme4j provider URI
 *                  ({@code acme://letsencrypt.org})
 * @param email     the account's contact address ({@code acme-email})
 * @param caTrust   a PEM file with the one CA trusted for the ACME server's own TLS
 *                  certificate ({@code acme-ca-trust}); empty = the JDK's default trust
 * @param renewDays an ACME certificate is renewed when it expires within this many days
 * @param auto      tenants with domains and no certificate get one without being asked
 */
public record AcmeSettings(URI directory, Optional<String> email, Optional<Path> caTrust, int renewDays, boolean auto) {

    public static final int DEFAULT_RENEW_DAYS = 30;
}
