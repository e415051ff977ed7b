package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

/** The front proxy's listen addresses are checked at start. */
class ProxyListenTest {

    @Test
    void anHttpAddressAlreadyInUseStopsTheStartNamingIt() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                EmperorProcess emperor = new EmperorProcess()) {
            emperor.set("http-listen", "127.0.0.1:" + taken.getLocalPort());
            assertThatThrownBy(emperor::start)
                    .hasMessageContaining("cannot listen on 127.0.0.1:" + taken.getLocalPort());
        }
    }
}
