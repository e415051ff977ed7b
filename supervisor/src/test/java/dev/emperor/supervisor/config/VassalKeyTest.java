package dev.emperor.supervisor.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The typed defaults of the vassal schema, and how they are shown. */
class VassalKeyTest {

    @Test
    void typedDefaultsHaveTheirKindsType() {
        assertThat(VassalKey.PIDS.defaultNumber()).isEqualTo(4096);
        assertThat(VassalKey.MAX_BODY.defaultBytes()).isEqualTo(10L << 20);
        assertThat(VassalKey.CRON_TIMEOUT.defaultDuration()).isEqualTo(Duration.ofHours(1));
        assertThat(VassalKey.DISTRO.defaultString()).isEqualTo("bookworm");
        assertThat(VassalKey.KSM.defaultBoolean()).isFalse();
    }

    @Test
    void noLimitIsZeroForSizesAndPercentages() {
        assertThat(VassalKey.MEMORY.defaultBytes()).isZero();
        assertThat(VassalKey.NET_RATE.defaultBytes()).isZero();
        assertThat(VassalKey.CPU.defaultNumber()).isZero();
        assertThat(VassalKey.MEMORY.defaultText()).isEqualTo("no limit");
    }

    @Test
    void askingForADefaultOfTheWrongKindOrARuleIsAnError() {
        assertThatThrownBy(VassalKey.PIDS::defaultBytes).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("PIDS");
        assertThatThrownBy(VassalKey.CPU::defaultBytes).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(VassalKey.TMP_SIZE::defaultBytes).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("from emperor.ini");
        assertThatThrownBy(VassalKey.EXEC::defaultString).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("(required)");
    }

    @Test
    void fixedDefaultsAreShownAsAFileWouldWriteThem() {
        assertThat(VassalKey.MAX_BODY.defaultText()).isEqualTo("`10M`");
        assertThat(VassalKey.CRON_TIMEOUT.defaultText()).isEqualTo("`1h`");
        assertThat(VassalKey.PIDS.defaultText()).isEqualTo("`4096`");
        assertThat(VassalKey.UPSTREAM.defaultText()).isEqualTo("`/run/app.sock`");
    }

    @Test
    void rulesCiteEmperorIniDefaultsFromTheirConstants() {
        assertThat(VassalKey.TMP_SIZE.defaultText())
                .contains("(" + Units.formatSize(VassalEnvironment.DEFAULT_TMP_BYTES) + ")");
        assertThat(VassalKey.DISK.defaultText()).contains("(" + Units.formatSize(DiskQuota.DEFAULT.bytes()) + ")");
        assertThat(VassalKey.INODES.defaultText()).contains("(" + DiskQuota.DEFAULT.inodes() + ")");
    }

    @Test
    void theJsonTypeFollowsTheKind() {
        assertThat(VassalKey.MEMORY.jsonType()).isEqualTo(VassalKey.JsonType.NUMBER);
        assertThat(VassalKey.CPU.jsonType()).isEqualTo(VassalKey.JsonType.NUMBER);
        assertThat(VassalKey.KSM.jsonType()).isEqualTo(VassalKey.JsonType.BOOLEAN);
        assertThat(VassalKey.CRON_TIMEOUT.jsonType()).isEqualTo(VassalKey.JsonType.STRING);
        assertThat(VassalKey.EXEC.jsonType()).isEqualTo(VassalKey.JsonType.STRING);
    }
}
