package dev.emperor.jail.cgroup;

import dev.emperor.jail.Limits;
import java.util.Optional;

/**
 * cgroups v1 and v2 behind one interface. A driver owns one subtree of Emperor's own
 * (named at creation, e.g. "emperor") and never reads or writes anything outside it.
 */
public interface CgroupDriver {
    /** "v1" or "v2". */
    String version();

    /**
     * Creates (or re-uses) the tenant's cgroup and applies the limits. Idempotent: a
     * supervisor restart calls it again for a tenant that is still running.
     */
    TenantCgroup create(String tenant, Limits limits);

    /** The tenant's cgroup if it exists. */
    Optional<TenantCgroup> open(String tenant);

    /** The names of the tenant cgroups in the subtree now (whatever holds them). */
    java.util.SortedSet<String> tenants();
}
