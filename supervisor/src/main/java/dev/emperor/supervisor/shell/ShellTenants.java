package dev.emperor.supervisor.shell;

import dev.emperor.jail.TenantProcess;
import dev.emperor.supervisor.config.VassalConfig;
import java.util.Optional;

/** What the shell entry asks of the emperor about tenants. */
public interface ShellTenants {
    /** The tenant whose recorded uid is uid, if any. */
    Optional<String> tenantOfUid(int uid);

    /**
     * The running tenant's pid 1, its configuration and credentials; throws
     * {@link NotEnterable} with a message for the user if it is unknown or not running.
     */
    Target target(String name) throws NotEnterable;

    /** A running tenant, as the shell entry needs it. */
    record Target(TenantProcess init, VassalConfig config, int uid, int gid) {}

    /** The tenant cannot be entered; the message is shown to the user as is. */
    final class NotEnterable extends Exception {
        public NotEnterable(String message) {
            super(message);
        }
    }
}
