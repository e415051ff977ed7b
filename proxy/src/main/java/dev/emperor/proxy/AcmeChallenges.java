package dev.emperor.proxy;

import java.util.Optional;

/**
 * Pending ACME HTTP-01 challenges: the plain-HTTP listener answers
 * {@code GET /.well-known/acme-challenge/TOKEN} for a host with the key authorization
 * from here, before any routing or redirect.
 */
public interface AcmeChallenges {

    Optional<String> keyAuthorization(String host, String token);

    AcmeChallenges NONE = (host, token) -> Optional.empty();
}
