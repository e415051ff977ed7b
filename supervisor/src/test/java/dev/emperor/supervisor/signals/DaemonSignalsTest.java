package dev.emperor.supervisor.signals;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class DaemonSignalsTest {
    @Test
    void readsTheIgnoredSignalsFromTheSigIgnMask() {
        // nohup under a shell without job control: HUP (bit 0) and INT (bit 1) and QUIT (bit 2).
        List<String> status = List.of("Name:\tjava", "SigBlk:\t0000000000000000", "SigIgn:\t0000000000000007",
                "SigCgt:\t0000000000004000");
        assertThat(DaemonSignals.ignored(status, 1)).isTrue();
        assertThat(DaemonSignals.ignored(status, 2)).isTrue();
        assertThat(DaemonSignals.ignored(status, 15)).isFalse();
    }

    @Test
    void aHighSignalAndAMissingLineAreRead() {
        assertThat(DaemonSignals.ignored(List.of("SigIgn:\t8000000000004000"), 15)).isTrue();
        assertThat(DaemonSignals.ignored(List.of("SigIgn:\t8000000000004000"), 64)).isTrue();
        assertThat(DaemonSignals.ignored(List.of("Name:\tjava"), 1)).isFalse();
    }
}
