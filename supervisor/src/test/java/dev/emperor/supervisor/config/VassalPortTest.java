package dev.emperor.supervisor.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.proxy.l4.ServiceProtocol;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The {@code port} key: services a vassal offers on public ports. */
class VassalPortTest {
    @TempDir
    Path dir;

    TestHost host;

    @BeforeEach
    void setUp() {
        host = new TestHost(dir);
    }

    @Test
    void servicesAreParsedInFileOrder() throws Exception {
        VassalConfig config = host.load("shop.ini", TestHost.ini("port = db tcp 5432", "port =  imaps   tls 993 "));
        assertThat(config.ports()).containsExactly(
                new PortService("db", ServiceProtocol.TCP, 5432),
                new PortService("imaps", ServiceProtocol.TLS, 993));
    }

    @Test
    void proxyProtocolIsAskedForPerService() throws Exception {
        VassalConfig config = host.load("shop.ini", TestHost.ini("port = db tcp 5432 proxy-protocol",
                "port = imaps tls 993   proxy-protocol", "port = plain tcp 7000"));
        assertThat(config.ports()).containsExactly(
                new PortService("db", ServiceProtocol.TCP, 5432, true),
                new PortService("imaps", ServiceProtocol.TLS, 993, true),
                new PortService("plain", ServiceProtocol.TCP, 7000, false));
    }

    @Test
    void aVassalWithoutPortsHasNone() throws Exception {
        assertThat(host.load("shop.ini", TestHost.ini()).ports()).isEmpty();
    }

    @Test
    void jsonTakesAnArrayOfServices() throws Exception {
        VassalConfig config = host.load("shop.json", """
                {"exec": "sleep 1", "port": ["db tcp 5432", "web-2 tls 8443"]}
                """);
        assertThat(config.ports()).extracting(PortService::name).containsExactly("db", "web-2");
    }

    @Test
    void aServiceDeclaredTwiceNamesTheFirstLine() {
        assertThat(host.error("app.ini", TestHost.ini("port = db tcp 5432", "port = db tcp 5433")))
                .endsWith(":4: port: service db is already declared on line 3");
    }

    static Stream<Arguments> badPorts() {
        return Stream.of(
                Arguments.of("port = db tcp", "3: port: expected NAME PROTO INTERNAL_PORT [proxy-protocol], e.g. 'db tcp 5432' ('db tcp')"),
                Arguments.of("port = db tcp 1 2", "3: port: unknown option '2' after the internal port: the only one is 'proxy-protocol'"),
                Arguments.of("port = db tcp 1 proxy-protocol x", "3: port: expected NAME PROTO INTERNAL_PORT [proxy-protocol], e.g. 'db tcp 5432' ('db tcp 1 proxy-protocol x')"),
                Arguments.of("port = db tcp 1 PROXY-PROTOCOL", "3: port: unknown option 'PROXY-PROTOCOL' after the internal port: the only one is 'proxy-protocol'"),
                Arguments.of("port = db udp 53 proxy-protocol", "3: port: bad protocol 'udp': expected tcp or tls"),
                Arguments.of("port = Db tcp 5432", "3: port: bad service name 'Db': lower-case letter first, then letters, digits or '-', at most 32"),
                Arguments.of("port = 1db tcp 5432", "3: port: bad service name '1db': lower-case letter first, then letters, digits or '-', at most 32"),
                Arguments.of("port = " + "a".repeat(33) + " tcp 1", "3: port: bad service name '" + "a".repeat(33) + "': lower-case letter first, then letters, digits or '-', at most 32"),
                Arguments.of("port = db udp 53", "3: port: bad protocol 'udp': expected tcp or tls"),
                Arguments.of("port = db TCP 53", "3: port: bad protocol 'TCP': expected tcp or tls"),
                Arguments.of("port = db tcp 0", "3: port: bad internal port '0': expected 1-65535"),
                Arguments.of("port = db tcp 65536", "3: port: bad internal port '65536': expected 1-65535"),
                Arguments.of("port = db tcp +80", "3: port: bad internal port '+80': expected 1-65535"),
                Arguments.of("port = db tcp http", "3: port: bad internal port 'http': expected 1-65535"));
    }

    @ParameterizedTest
    @MethodSource("badPorts")
    void badServicesAreReportedWithLineAndKey(String line, String expected) {
        assertThat(host.error("app.ini", TestHost.ini(line))).endsWith(":" + expected);
    }
}
