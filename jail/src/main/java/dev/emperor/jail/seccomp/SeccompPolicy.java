package dev.emperor.jail.seccomp;

import java.util.Set;

/**
 * Which syscalls of Emperor's default deny list a tenant may use anyway. The default
 * policy allows none of them.
 */
public record SeccompPolicy(Set<String> relaxed) {
    public static final SeccompPolicy DEFAULT = new SeccompPolicy(Set.of());
}
