package dev.emperor.jail;

/**
 * File descriptors of the JVM that become a spawned process's fd 0, 1 and 2.
 *
 * <p>{@code logReadEnd} (or -1): the read end of the pipe that stdout and stderr write into.
 * Only a tenant's pid 1 gets it, at {@link Jail#INIT_LOG_READ_FD}, and keeps it for as long
 * as the tenant lives, so that the pipe never breaks while no emperor reads it (the next
 * emperor takes it back with {@link TenantProcess#copyFd}). The payload never holds it.
 */
public record Stdio(int stdin, int stdout, int stderr, int logReadEnd) {
    public Stdio(int stdin, int stdout, int stderr) {
        this(stdin, stdout, stderr, -1);
    }
}
