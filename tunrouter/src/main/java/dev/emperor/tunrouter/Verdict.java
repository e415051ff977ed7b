package dev.emperor.tunrouter;

/** What a firewall rule (or the firewall's default) does with a packet it matches. */
public enum Verdict {
    ALLOW,
    DENY
}
