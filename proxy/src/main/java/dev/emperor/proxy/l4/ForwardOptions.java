package dev.emperor.proxy.l4;

import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * How one public port is served.
 *
 * @param protocol       TCP relays at once; TLS first checks the ClientHello's server name
 * @param tlsDomains     names a TLS client may ask for (any case; {@code *.example.com} matches
 *                       any name below example.com); a name not listed is refused, so the port
 *                       cannot be used to reach a tenant under someone else's name
 * @param bindAddresses  local addresses to listen on, one listener each; empty = every address
 * @param maxConnections most client connections open at once; more are closed on accept
 * @param connectTimeout how long to wait for the tenant to accept before closing the client
 * @param helloTimeout   (TLS) how long a client may take to send its ClientHello
 * @param maxHelloBytes  (TLS) most bytes read while looking for the server name
 * @param proxyProtocol  whether each upstream connection starts with a PROXY protocol v2 header
 *                       naming the client's address and port and the public address and port it
 *                       connected to (see {@link ProxyHeader})
 */
public record ForwardOptions(
        ServiceProtocol protocol,
        List<String> tlsDomains,
        List<InetAddress> bindAddresses,
        int maxConnections,
        Duration connectTimeout,
        Duration helloTimeout,
        int maxHelloBytes,
        boolean proxyProtocol) {

    public static final int DEFAULT_MAX_CONNECTIONS = 1024;
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    public static final Duration DEFAULT_HELLO_TIMEOUT = Duration.ofSeconds(10);
    /** A ClientHello with post-quantum key shares is about 2 KiB; 16 KiB leaves room for more. */
    public static final int DEFAULT_MAX_HELLO_BYTES = 16 * 1024;

    public ForwardOptions {
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(helloTimeout, "helloTimeout");
        // SNI names are compared lower case (ClientHelloSni lower-cases what clients send)
        tlsDomains = tlsDomains.stream().map(d -> d.toLowerCase(Locale.ROOT)).toList();
        bindAddresses = List.copyOf(bindAddresses);
        if (maxConnections < 1 || maxHelloBytes < 64) {
            throw new IllegalArgumentException("bad forward limits: maxConnections " + maxConnections
                    + ", maxHelloBytes " + maxHelloBytes);
        }
    }

    /** Plain TCP on every address with default limits. */
    public static ForwardOptions tcp() {
        return new ForwardOptions(ServiceProtocol.TCP, List.of(), List.of(), DEFAULT_MAX_CONNECTIONS,
                DEFAULT_CONNECT_TIMEOUT, DEFAULT_HELLO_TIMEOUT, DEFAULT_MAX_HELLO_BYTES, false);
    }

    /** TLS passthrough for the given domains on every address with default limits. */
    public static ForwardOptions tls(List<String> domains) {
        return tcp().withProtocol(ServiceProtocol.TLS, domains);
    }

    public ForwardOptions withProtocol(ServiceProtocol newProtocol, List<String> domains) {
        return new ForwardOptions(newProtocol, domains, bindAddresses, maxConnections, connectTimeout,
                helloTimeout, maxHelloBytes, proxyProtocol);
    }

    /** Listens on one address, given as a literal (never looked up in DNS). */
    public ForwardOptions withBindAddress(String literal) {
        InetAddress address = NetUtil.createInetAddressFromIpAddressString(literal);
        if (address == null) {
            throw new IllegalArgumentException("not an IP address literal: " + literal);
        }
        return withBindAddresses(List.of(address));
    }

    public ForwardOptions withBindAddresses(List<InetAddress> addresses) {
        return new ForwardOptions(protocol, tlsDomains, addresses, maxConnections, connectTimeout,
                helloTimeout, maxHelloBytes, proxyProtocol);
    }

    public ForwardOptions withMaxConnections(int max) {
        return new ForwardOptions(protocol, tlsDomains, bindAddresses, max, connectTimeout, helloTimeout,
                maxHelloBytes, proxyProtocol);
    }

    public ForwardOptions withHelloLimits(Duration timeout, int maxBytes) {
        return new ForwardOptions(protocol, tlsDomains, bindAddresses, maxConnections, connectTimeout, timeout,
                maxBytes, proxyProtocol);
    }

    public ForwardOptions withProxyProtocol(boolean on) {
        return new ForwardOptions(protocol, tlsDomains, bindAddresses, maxConnections, connectTimeout,
                helloTimeout, maxHelloBytes, on);
    }

    /** Whether a TLS client asking for {@code serverName} may pass. */
    boolean allows(String serverName) {
        for (String domain : tlsDomains) {
            if (domain.startsWith("*.")) {
                // "*.example.com" covers every name below example.com, not example.com itself
                if (serverName.endsWith(domain.substring(1)) && serverName.length() > domain.length() - 1) {
                    return true;
                }
            } else if (domain.equals(serverName)) {
                return true;
            }
        }
        return false;
    }
}
