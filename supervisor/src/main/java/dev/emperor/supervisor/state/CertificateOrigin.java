package dev.emperor.supervisor.state;

import java.util.Locale;

/** Where a tenant's stored certificate came from; only ACME ones are renewed by the emperor. */
public enum CertificateOrigin {
    /** `emperor cert put`: the tenant's own; never replaced by the emperor. */
    UPLOAD,
    /** `emperor cert issue`, acme-auto or a renewal. */
    ACME;

    String stored() {
        return name().toLowerCase(Locale.ROOT);
    }

    static CertificateOrigin fromStored(String value) {
        return valueOf(value.toUpperCase(Locale.ROOT));
    }
}
