package dev.emperor.jail;

import java.nio.file.Path;

/**
 * An extra bind mount into a tenant's root: {@code source} on the host, {@code target}
 * inside the tenant (absolute, resolved inside the tenant root so that symlinks cannot
 * escape it). Read-only unless {@code writable}.
 */
public record BindMount(Path source, String target, boolean writable) {}
