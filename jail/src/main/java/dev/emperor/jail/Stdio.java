package dev.emperor.jail;

/** File descriptors of the JVM that become a spawned process's fd 0, 1 and 2. */
public record Stdio(int stdin, int stdout, int stderr) {}
