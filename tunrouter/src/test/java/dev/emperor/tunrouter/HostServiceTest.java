package dev.emperor.tunrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class HostServiceTest {

    @Test
    void aPortOrARangeWithTcpOrUdp() {
        assertThat(HostService.parse("udp 53")).isEqualTo(new HostService("udp", 53, 53));
        assertThat(HostService.parse("  TCP   8000-8099 ")).isEqualTo(new HostService("tcp", 8000, 8099));
        assertThat(HostService.parse("tcp 8000-8099").nftPorts()).isEqualTo("8000-8099");
        assertThat(HostService.parse("udp 53").nftPorts()).isEqualTo("53");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "tcp|expected 'tcp|udp PORT'",
            "tcp 22 23|expected 'tcp|udp PORT'",
            "sctp 9|protocol 'sctp' must be tcp or udp",
            "tcp 0|port 0 is not from 1 to 65535",
            "tcp 65536|port 65536 is not from 1 to 65535",
            "tcp 99999999999|port '99999999999' is not a number",
            "tcp -5|port '' is not a number",
            "tcp 9-5|port range '9-5' is backwards",
            "tcp 1-2-3|port range '1-2-3' must be PORT or FIRST-LAST",
            "udp 53;drop|port '53;drop' is not a number",
    })
    void badTextNamesTheProblem(String text, String problem) {
        assertThatThrownBy(() -> HostService.parse(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(problem);
    }
}
