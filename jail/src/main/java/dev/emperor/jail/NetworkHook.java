package dev.emperor.jail;

/**
 * Per-spawn network set-up, run by {@link Jail#spawn(JailSpec, Stdio, NetworkHook)} on the
 * spawn thread inside the tenant's new network namespace (after {@code lo} is up, before the
 * pid namespace is unshared). Whatever it creates there (e.g. a tun device) belongs to the
 * tenant's namespace. The jail knows nothing of what is made: the supervisor does that.
 *
 * <p>It runs on a thread that must not start other threads: no logging, no executors, no
 * first-time loading of native libraries (load them before the spawn).
 */
@FunctionalInterface
public interface NetworkHook {
    /** A hook that does nothing: the tenant has only {@code lo}. */
    NetworkHook NONE = () -> {};

    /** Runs inside the tenant's network namespace; an exception fails the spawn. */
    void inTenantNetns();
}
