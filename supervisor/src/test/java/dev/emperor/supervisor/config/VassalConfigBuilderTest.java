package dev.emperor.supervisor.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.emperor.tunrouter.FirewallRules;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class VassalConfigBuilderTest {
    private static VassalConfig.Builder required() {
        return VassalConfig.builder().name("app").source(Path.of("/etc/emperor/vassals/app.ini"))
                .argv(List.of("/bin/app")).distro("bookworm").hostname("app").cwd("/home/app").homePath("/home/app")
                .contentHash("00");
    }

    @Test
    void whatIsNotGivenIsNothingExtra() {
        VassalConfig c = required().build();
        assertThat(c.env()).isEmpty();
        assertThat(c.uid()).isEqualTo(OptionalInt.empty());
        assertThat(c.gid()).isEqualTo(OptionalInt.empty());
        assertThat(c.memoryBytes()).isZero();
        assertThat(c.cpuPercent()).isZero();
        assertThat(c.pids()).isZero();
        assertThat(c.tmpBytes()).isEqualTo(VassalEnvironment.DEFAULT_TMP_BYTES);
        assertThat(c.disk()).isEqualTo(DiskQuota.UNLIMITED);
        assertThat(c.binds()).isEmpty();
        assertThat(c.seccompAllow()).isEmpty();
        assertThat(c.ksm()).isFalse();
        assertThat(c.firewall()).isEqualTo(FirewallRules.NONE);
        assertThat(c.web()).isNull();
        assertThat(c.cron()).isEmpty();
        assertThat(c.daemons()).isEmpty();
        assertThat(c.cronTimeout()).isEqualTo(VassalKey.CRON_TIMEOUT.defaultDuration());
        assertThat(c.ports()).isEmpty();
        assertThat(c.netRate()).isZero();
    }

    @Test
    void aConfigWithoutARequiredPartIsRefusedNamingIt() {
        assertThatThrownBy(() -> required().distro(null).build()).hasMessage("vassal config without distro");
        assertThatThrownBy(() -> VassalConfig.builder().build()).hasMessage("vassal config without name");
    }

    @Test
    void toBuilderKeepsEverything() {
        VassalConfig c = required().uid(OptionalInt.of(5000)).gid(OptionalInt.of(5000)).memoryBytes(1L << 30)
                .pids(64).ksm(true).netRate(1000).build();
        assertThat(c.toBuilder().build()).isEqualTo(c);
        assertThat(c.toBuilder().pids(65).build()).isNotEqualTo(c);
    }

    @Test
    void liveSettingsAreTakenWithoutARestartAndTheRestNeedsOne() {
        VassalConfig running = required().build();
        VassalConfig netRateChanged = running.toBuilder().netRate(5000).contentHash("01").build();
        assertThat(running.needsRestartFor(netRateChanged)).isFalse();
        assertThat(running.withLiveSettingsOf(netRateChanged)).isEqualTo(netRateChanged);
        VassalConfig memoryChanged = running.toBuilder().memoryBytes(1L << 20).contentHash("02").build();
        assertThat(running.needsRestartFor(memoryChanged)).isTrue();
        assertThat(running.withLiveSettingsOf(memoryChanged).memoryBytes()).isZero();
    }
}
