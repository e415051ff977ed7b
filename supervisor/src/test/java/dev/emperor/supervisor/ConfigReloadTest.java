package dev.emperor.supervisor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.supervisor.config.EmperorConfig;
import dev.emperor.supervisor.config.ProxySettings;
import dev.emperor.tunrouter.Cidr;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What a SIGHUP refuses, warns about and puts in force (the decisions; the daemon's side is in tests/ConfigReloadTest). */
class ConfigReloadTest {
    private static final EmperorConfig RUNNING = EmperorConfig.builder().build();

    private static EmperorConfig withProxy(ProxySettings proxy) {
        return RUNNING.withProxy(proxy);
    }

    @Test
    void theSameFileChangesNoFixedKey() {
        assertThat(ConfigReload.fixedKeysChanged(RUNNING, EmperorConfig.builder().build())).isEmpty();
    }

    @Test
    void whereStateAndTenantsLiveCannotChangeAndEachChangeIsNamed() {
        EmperorConfig fresh = RUNNING.toBuilder().vassalsDir(Path.of("/srv/other")).stateDir(Path.of("/srv/state"))
                .runDir(Path.of("/srv/run")).tunSubnet(Cidr.parse("10.9.0.0/16")).tunGateway("gw1").build();
        assertThat(ConfigReload.fixedKeysChanged(RUNNING, fresh))
                .containsExactly("vassals", "state-dir", "run-dir", "tun-subnet", "tun-gateway");
        assertThat(ConfigReload.fixedKeysChanged(RUNNING, RUNNING.toBuilder().tunGateway("gw1").build()))
                .containsExactly("tun-gateway");
    }

    @Test
    void settingsAppliedWhileRunningAreNoFixedKeys() {
        EmperorConfig fresh = RUNNING.toBuilder().logDir(Path.of("/srv/log")).logKeep(1).cgroup("other")
                .statusDir(Optional.of(Path.of("/srv/status"))).build();
        assertThat(ConfigReload.fixedKeysChanged(RUNNING, fresh)).isEmpty();
    }

    @Test
    void onlyThePortRangeWaitsForARestart() {
        ProxySettings running = RUNNING.proxy();
        assertThat(ConfigReload.restartOnlyKeysChanged(running, running.withPortRange(30000, 30099)))
                .containsExactly("port-range");
        assertThat(ConfigReload.restartOnlyKeysChanged(running, running.withPortRange(running.portLow(), 30099)))
                .containsExactly("port-range");
        assertThat(ConfigReload.restartOnlyKeysChanged(running,
                running.withListeners(List.of(new InetSocketAddress(8080)), List.of()))).isEmpty();
    }

    @Test
    void theAppliedConfigIsTheFreshOneWithTheRunningPortRangeAndTheListenersInUse() {
        ProxySettings freshProxy = RUNNING.proxy().withPortRange(30000, 30099)
                .withListeners(List.of(new InetSocketAddress(8080)), List.of(new InetSocketAddress(8443)));
        EmperorConfig fresh = RUNNING.toBuilder().logKeep(1).proxy(freshProxy).build();

        // the proxy could not bind the new addresses: it still listens on the old ones
        EmperorConfig applied = ConfigReload.applied(RUNNING, fresh, RUNNING.proxy());
        assertThat(applied.logKeep()).isEqualTo(1);
        assertThat(applied.proxy().portLow()).isEqualTo(RUNNING.proxy().portLow());
        assertThat(applied.proxy().portHigh()).isEqualTo(RUNNING.proxy().portHigh());
        assertThat(applied.proxy().httpListen()).isEqualTo(RUNNING.proxy().httpListen());
        assertThat(applied.proxy().httpsListen()).isEqualTo(RUNNING.proxy().httpsListen());
        assertThat(applied.withProxy(freshProxy.withPortRange(RUNNING.proxy().portLow(), RUNNING.proxy().portHigh())
                .withListeners(RUNNING.proxy().httpListen(), RUNNING.proxy().httpsListen()))).isEqualTo(applied);

        // it bound them: they are in force
        EmperorConfig bound = ConfigReload.applied(RUNNING, fresh, freshProxy);
        assertThat(bound.proxy().httpListen()).containsExactly(new InetSocketAddress(8080));
        assertThat(bound.proxy().httpsListen()).containsExactly(new InetSocketAddress(8443));
        assertThat(bound.proxy().portLow()).isEqualTo(RUNNING.proxy().portLow());
    }

    @Test
    void aNewCertificateStoreOnlyWhenTheRunningOneCannotFollow() {
        ProxySettings running = RUNNING.proxy();
        ProxySettings withCert = new ProxySettings(running.httpListen(), running.httpsListen(), Optional.of("platform.test"),
                Optional.of(Path.of("/etc/cert.pem")), Optional.of(Path.of("/etc/key.pem")), running.certDir(),
                running.portLow(), running.portHigh(), running.accessLogDir(), running.acme(), running.clientLimits());
        ProxySettings sameDomainNoCert = new ProxySettings(running.httpListen(), running.httpsListen(),
                Optional.of("platform.test"), Optional.empty(), Optional.empty(), running.certDir(), running.portLow(),
                running.portHigh(), running.accessLogDir(), running.acme(), running.clientLimits());
        assertThat(ConfigReload.needsNewCertificateStore(running, running)).isFalse();
        assertThat(ConfigReload.needsNewCertificateStore(withCert, withCert)).isFalse(); // read again in place
        assertThat(ConfigReload.needsNewCertificateStore(sameDomainNoCert, withCert)).isFalse(); // added in place
        assertThat(ConfigReload.needsNewCertificateStore(withCert, sameDomainNoCert)).isTrue(); // dropped
        assertThat(ConfigReload.needsNewCertificateStore(running, sameDomainNoCert)).isTrue(); // platform-domain
        assertThat(ConfigReload.needsNewCertificateStore(running,
                ProxySettings.defaults(Path.of("/srv/state"), Path.of("/var/log/emperor")))).isTrue(); // cert-dir
    }
}
