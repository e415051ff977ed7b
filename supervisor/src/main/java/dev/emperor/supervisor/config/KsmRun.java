package dev.emperor.supervisor.config;

import java.util.Optional;

/**
 * emperor.ini's {@code ksm-run}: whether the emperor starts the host's KSM daemon
 * (/sys/kernel/mm/ksm/run), without which a vassal's {@code ksm = yes} merges nothing.
 */
public enum KsmRun {
    /** Start ksmd once some vassal asks for ksm. */
    AUTO,
    /** Start ksmd when the emperor starts. */
    ON,
    /** Leave the host's setting alone (a vassal asking for ksm gets a warning). */
    OFF;

    public static Optional<KsmRun> parse(String text) {
        return switch (text) {
            case "auto" -> Optional.of(AUTO);
            case "on" -> Optional.of(ON);
            case "off" -> Optional.of(OFF);
            default -> Optional.empty();
        };
    }

    /** As written in emperor.ini. */
    public String text() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
