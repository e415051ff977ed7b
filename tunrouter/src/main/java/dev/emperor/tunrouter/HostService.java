package dev.emperor.tunrouter;

import java.util.Locale;
import java.util.Objects;

/**
 * A service of the host itself that tenants may reach at the gateway address, e.g. a DNS
 * resolver ({@code udp 53}) or a shared database ({@code tcp 5432}). Everything else on the
 * host is closed to tenants (see {@link NatTable}).
 *
 * @param protocol  "tcp" or "udp"
 * @param firstPort first port of the range
 * @param lastPort  last port of the range (= firstPort for one port)
 */
public record HostService(String protocol, int firstPort, int lastPort) {

    public HostService {
        Objects.requireNonNull(protocol, "protocol");
        if (!protocol.equals("tcp") && !protocol.equals("udp")) {
            throw new IllegalArgumentException("protocol must be tcp or udp: " + protocol);
        }
        if (firstPort < 1 || lastPort > 65535 || firstPort > lastPort) {
            throw new IllegalArgumentException("bad port range " + firstPort + "-" + lastPort);
        }
    }

    /**
     * Parses {@code PROTO PORT} or {@code PROTO FIRST-LAST}, e.g. {@code udp 53} or
     * {@code tcp 8000-8099}.
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    public static HostService parse(String text) {
        String[] words = text.strip().split("\\s+");
        if (words.length != 2) {
            throw new IllegalArgumentException("expected 'tcp|udp PORT' or 'tcp|udp FIRST-LAST', got '" + text.strip() + "'");
        }
        String protocol = words[0].toLowerCase(Locale.ROOT);
        if (!protocol.equals("tcp") && !protocol.equals("udp")) {
            throw new IllegalArgumentException("protocol '" + words[0] + "' must be tcp or udp");
        }
        String[] range = words[1].split("-", -1);
        if (range.length > 2) {
            throw new IllegalArgumentException("port range '" + words[1] + "' must be PORT or FIRST-LAST");
        }
        int first = port(range[0]);
        int last = range.length == 2 ? port(range[1]) : first;
        if (first > last) {
            throw new IllegalArgumentException("port range '" + words[1] + "' is backwards");
        }
        return new HostService(protocol, first, last);
    }

    private static int port(String text) {
        if (!text.matches("[0-9]{1,5}")) {
            throw new IllegalArgumentException("port '" + text + "' is not a number from 1 to 65535");
        }
        int port = Integer.parseInt(text);
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is not from 1 to 65535");
        }
        return port;
    }

    /** The port or range as nft writes it. */
    String nftPorts() {
        return firstPort == lastPort ? Integer.toString(firstPort) : firstPort + "-" + lastPort;
    }

    @Override
    public String toString() {
        return protocol + " " + nftPorts();
    }
}
