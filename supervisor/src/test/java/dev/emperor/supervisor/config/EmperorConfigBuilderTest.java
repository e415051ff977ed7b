package dev.emperor.supervisor.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.emperor.tunrouter.Cidr;
import dev.emperor.tunrouter.FirewallRules;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class EmperorConfigBuilderTest {
    @Test
    void theBuilderStartsFromTheDocumentedDefaults() {
        EmperorConfig d = EmperorConfig.builder().build();
        assertThat(d.vassalsDir()).isEqualTo(Path.of("/etc/emperor/vassals"));
        assertThat(d.stateDir()).isEqualTo(Path.of("/var/lib/emperor"));
        assertThat(d.runDir()).isEqualTo(Path.of("/run/emperor"));
        assertThat(d.logDir()).isEqualTo(Path.of("/var/log/emperor"));
        assertThat(d.distroDir()).isEqualTo(Path.of("/var/lib/emperor/distros"));
        assertThat(d.homeDir()).isEqualTo(Path.of("/var/lib/emperor/homes"));
        assertThat(d.optDir()).isEmpty();
        assertThat(d.cgroup()).isEqualTo("emperor");
        assertThat(d.uidRange()).isEqualTo(new EmperorConfig.UidRange(100_000, 199_999));
        assertThat(d.stopGrace()).isEqualTo(Duration.ofSeconds(10));
        assertThat(d.backoffMax()).isEqualTo(Duration.ofSeconds(60));
        assertThat(d.rescan()).isEqualTo(Duration.ofSeconds(10));
        assertThat(d.logMaxSize()).isEqualTo(10L << 20);
        assertThat(d.logKeep()).isEqualTo(5);
        assertThat(d.logRate()).isEqualTo(1L << 20);
        assertThat(d.controlSocket()).isEqualTo(Path.of("/run/emperor/control.sock"));
        assertThat(d.tmpSize()).isEqualTo(VassalEnvironment.DEFAULT_TMP_BYTES);
        assertThat(d.diskDefault()).isEqualTo(DiskQuota.DEFAULT);
        assertThat(d.stopVassalsOnExit()).isFalse();
        assertThat(d.tunSubnet()).isEqualTo(Cidr.parse("10.200.0.0/16"));
        assertThat(d.tunGateway()).isEqualTo("emperor0");
        assertThat(d.firewall()).isEqualTo(FirewallRules.NONE);
        assertThat(d.hostServices()).isEmpty();
        assertThat(d.cronTimezone()).isEqualTo(ZoneId.systemDefault());
        assertThat(d.proxy()).isEqualTo(ProxySettings.defaults(Path.of("/var/lib/emperor"), Path.of("/var/log/emperor")));
        assertThat(d.ksmRun()).isEqualTo(KsmRun.OFF);
        assertThat(d.retain()).isEqualTo(EmperorConfig.DEFAULT_RETAIN);
        assertThat(d.statusDir()).isEmpty();
        assertThat(EmperorConfig.defaults()).isEqualTo(d);
    }

    @Test
    void toBuilderKeepsEverySettingAndChangesOnlyWhatIsSet() throws Exception {
        EmperorConfig c = EmperorConfig.builder().vassalsDir(Path.of("/srv/v")).logKeep(2).retain(Duration.ZERO)
                .statusDir(Optional.of(Path.of("/srv/status"))).build();
        assertThat(c.toBuilder().build()).isEqualTo(c);
        EmperorConfig changed = c.toBuilder().logKeep(9).build();
        assertThat(changed.logKeep()).isEqualTo(9);
        assertThat(changed.toBuilder().logKeep(2).build()).isEqualTo(c);
    }

    @Test
    void withProxyReplacesOnlyTheProxySettings() {
        EmperorConfig c = EmperorConfig.builder().cgroup("other").build();
        ProxySettings quiet = c.proxy().withListeners(List.of(), List.of(new InetSocketAddress(8443)));
        EmperorConfig swapped = c.withProxy(quiet);
        assertThat(swapped.proxy()).isEqualTo(quiet);
        assertThat(swapped.withProxy(c.proxy())).isEqualTo(c);
    }

    @Test
    void proxyWithersChangeTheirKeysOnly() {
        ProxySettings p = ProxySettings.defaults(Path.of("/s"), Path.of("/l"));
        ProxySettings moved = p.withListeners(List.of(new InetSocketAddress(8080)), List.of());
        assertThat(moved.httpListen()).containsExactly(new InetSocketAddress(8080));
        assertThat(moved.httpsListen()).isEmpty();
        assertThat(moved.withListeners(p.httpListen(), p.httpsListen())).isEqualTo(p);
        ProxySettings ranged = p.withPortRange(30000, 30009);
        assertThat(ranged.portLow()).isEqualTo(30000);
        assertThat(ranged.portHigh()).isEqualTo(30009);
        assertThat(ranged.withPortRange(p.portLow(), p.portHigh())).isEqualTo(p);
    }
}
