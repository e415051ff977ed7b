package dev.emperor.supervisor.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class UnitsTest {

    @ParameterizedTest
    @CsvSource({
        "512, 512",
        "512B, 512",
        "64K, 65536",
        "64k, 65536",
        "64KB, 65536",
        "64KiB, 65536",
        "64kib, 65536",
        "64M, 67108864",
        "64MiB, 67108864",
        "2G, 2147483648",
        "2gb, 2147483648",
        "0, 0",
        "' 10M ', 10485760",
    })
    void sizesUseBinaryUnits(String text, long bytes) {
        assertThat(Units.parseSize(text)).isEqualTo(bytes);
    }

    @ParameterizedTest
    @ValueSource(strings = {"12Q", "", "M", "-1", "1.5G", "10 M", "1T", "0x10", "64MB extra"})
    void badSizesSayWhatWasExpected(String text) {
        assertThatThrownBy(() -> Units.parseSize(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("bad size '" + text + "': expected a number with optional K, M, G");
    }

    @Test
    void hugeSizesAreTooLargeNotWrappedAround() {
        assertThatThrownBy(() -> Units.parseSize("99999999999G")).hasMessage("bad size '99999999999G': too large");
        assertThatThrownBy(() -> Units.parseSize("99999999999999999999")).hasMessageEndingWith("too large");
    }

    @ParameterizedTest
    @CsvSource({
        "500ms, 500",
        "10s, 10000",
        "10, 10000",
        "5m, 300000",
        "1h, 3600000",
        "1H, 3600000",
        "0, 0",
    })
    void durations(String text, long millis) {
        assertThat(Units.parseDuration(text)).isEqualTo(Duration.ofMillis(millis));
    }

    @ParameterizedTest
    @ValueSource(strings = {"10x", "", "s", "-5s", "1.5s", "1d", "5 m s"})
    void badDurationsSayWhatWasExpected(String text) {
        assertThatThrownBy(() -> Units.parseDuration(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("bad duration '" + text + "': expected a number of seconds or a number followed by ms, s, m or h");
    }

    @Test
    void hugeDurationsAreTooLarge() {
        assertThatThrownBy(() -> Units.parseDuration("999999999999999999h")).hasMessageEndingWith("too large");
    }

    @ParameterizedTest
    @CsvSource({"50%, 50", "50, 50", "200 %, 200", "10000, 10000"})
    void percentages(String text, int percent) {
        assertThat(Units.parsePercent(text)).isEqualTo(percent);
    }

    @ParameterizedTest
    @ValueSource(strings = {"%", "", "half", "-5", "1.5%", "50%%"})
    void badPercentages(String text) {
        assertThatThrownBy(() -> Units.parsePercent(text))
                .hasMessage("bad percentage '" + text + "': expected a whole number with optional %");
    }

    @Test
    void percentagesBeyondIntAreTooLarge() {
        assertThatThrownBy(() -> Units.parsePercent("99999999999")).hasMessageEndingWith("too large");
    }

    @Test
    void sizesAreFormattedInTheLargestExactUnit() {
        assertThat(Units.formatSize(4L << 20)).isEqualTo("4M");
        assertThat(Units.formatSize(2L << 30)).isEqualTo("2G");
        assertThat(Units.formatSize(1536 << 10)).isEqualTo("1536K");
        assertThat(Units.formatSize(100)).isEqualTo("100");
        assertThat(Units.formatSize(0)).isEqualTo("0");
    }
}
