package dev.emperor.tunrouter;

import java.util.Optional;
import java.util.Set;

/**
 * Where tenant addresses are remembered across restarts (the supervisor keeps them in SQLite).
 * An address once recorded stays recorded, even after its tenant is gone: that is what keeps
 * {@link AddressPool} from ever handing it to someone else.
 */
public interface AddressStore {
    /** The address recorded for this tenant, if any. */
    Optional<Integer> addressOf(String tenant);

    /** Records (durably, before returning) that {@code tenant} holds {@code address}. */
    void record(String tenant, int address);

    /** Every address ever recorded, for any tenant. */
    Set<Integer> allocated();
}
