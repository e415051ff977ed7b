package dev.emperor.supervisor.config;

import dev.emperor.proxy.l4.PortLimits;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The front proxy's part of emperor.ini: where it listens, its TLS defaults, where it keeps
 * certificates and access logs, and the range public ports come from.
 *
 * @param httpListen     plain HTTP listeners ({@code http-listen}); empty = off
 * @param httpsListen    HTTPS listeners ({@code https-listen}); empty = off
 * @param platformDomain the platform's own domain, names the fallback certificate
 * @param tlsCert        the platform wildcard certificate (PEM), given with {@code tlsKey}
 * @param tlsKey         its private key (PEM)
 * @param certDir        tenants' uploaded certificates, one file each
 * @param portLow        lowest public port handed to tenants' services
 * @param portHigh       highest public port
 * @param accessLogDir   one access log per tenant
 * @param acme           certificates from an ACME CA; empty = off
 * @param clientLimits   timeouts and the minimum data rate for clients, and the upstream response timeout
 * @param portLimits     how many public ports a tenant may hold ({@code max-ports}, {@code max-ports-for})
 * @param domainAllow    {@code domain-allow} patterns (normalized): names tenants may claim without the
 *                       operator's approval; empty = any free name
 * @param portListen     the addresses public ports listen on ({@code port-listen}); empty = every address
 */
public record ProxySettings(
        List<InetSocketAddress> httpListen,
        List<InetSocketAddress> httpsListen,
        Optional<String> platformDomain,
        Optional<Path> tlsCert,
        Optional<Path> tlsKey,
        Path certDir,
        int portLow,
        int portHigh,
        Path accessLogDir,
        Optional<AcmeSettings> acme,
        ClientLimits clientLimits,
        PortLimits portLimits,
        List<String> domainAllow,
        List<InetAddress> portListen) {

    public ProxySettings {
        httpListen = List.copyOf(httpListen);
        httpsListen = List.copyOf(httpsListen);
        domainAllow = List.copyOf(domainAllow);
        portListen = List.copyOf(portListen);
    }

    /** Settings with the default port limits and no domain-allow policy (any free name may be claimed). */
    public ProxySettings(List<InetSocketAddress> httpListen, List<InetSocketAddress> httpsListen,
            Optional<String> platformDomain, Optional<Path> tlsCert, Optional<Path> tlsKey, Path certDir, int portLow,
            int portHigh, Path accessLogDir, Optional<AcmeSettings> acme, ClientLimits clientLimits) {
        this(httpListen, httpsListen, platformDomain, tlsCert, tlsKey, certDir, portLow, portHigh, accessLogDir, acme,
                clientLimits, PortLimits.DEFAULT, List.of(), List.of());
    }

    /** The defaults for a state and log directory: ports 80 and 443 on every address. */
    public static ProxySettings defaults(Path stateDir, Path logDir) {
        return new ProxySettings(List.of(new InetSocketAddress(80)), List.of(new InetSocketAddress(443)),
                Optional.empty(), Optional.empty(), Optional.empty(), stateDir.resolve("certs"), 20000, 29999,
                logDir.resolve("access"), Optional.empty(), ClientLimits.defaults(),
                PortLimits.DEFAULT, List.of(), List.of());
    }

    /** These settings listening on other addresses (http-listen, https-listen). */
    public ProxySettings withListeners(List<InetSocketAddress> httpListen, List<InetSocketAddress> httpsListen) {
        return new ProxySettings(httpListen, httpsListen, platformDomain, tlsCert, tlsKey, certDir, portLow, portHigh,
                accessLogDir, acme, clientLimits, portLimits, domainAllow, portListen);
    }

    /** These settings with another public port range (port-range). */
    public ProxySettings withPortRange(int portLow, int portHigh) {
        return new ProxySettings(httpListen, httpsListen, platformDomain, tlsCert, tlsKey, certDir, portLow, portHigh,
                accessLogDir, acme, clientLimits, portLimits, domainAllow, portListen);
    }

    /** Whether the proxy has anything to do at all. */
    public boolean listens() {
        return !httpListen.isEmpty() || !httpsListen.isEmpty();
    }
}
