package dev.emperor.tunrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

/** Needs root: creates short-lived tun devices in the host namespace (closing one removes it). */
class TunDeviceTest {
    private static final int IFF_PERSIST = 0x0800;
    private static final int TUN_NO_PI_VNET_HDR = LibC.IFF_TUN | LibC.IFF_NO_PI | LibC.IFF_VNET_HDR;
    private final String name = String.format("emp-t-%06xd", ThreadLocalRandom.current().nextInt(1 << 24));

    /** The device's flags as the kernel reports them (IFF_TUN, IFF_NO_PI, IFF_VNET_HDR, ...), less IFF_PERSIST. */
    private int tunFlags() throws java.io.IOException {
        return Integer.decode(Files.readString(Path.of("/sys/class/net", name, "tun_flags")).strip()) & ~IFF_PERSIST;
    }

    @Test
    void aConfiguredDeviceIsUpWithItsMtuAndClosingItRemovesIt() throws Exception {
        try (TunDevice tun = TunDevice.create(name)) {
            tun.configure(Cidr.parseAddress("10.213.7.1"), 24, 1400, 500);
            Path sys = Path.of("/sys/class/net", name);
            assertThat(Files.readString(sys.resolve("mtu")).strip()).isEqualTo("1400");
            assertThat(Files.readString(sys.resolve("tx_queue_len")).strip()).isEqualTo("500");
            assertThat(Integer.decode(Files.readString(sys.resolve("flags")).strip()) & 1).isEqualTo(1);
            assertThat(tunFlags()).isEqualTo(TUN_NO_PI_VNET_HDR);
        }
        assertThat(Path.of("/sys/class/net", name)).doesNotExist();
    }

    @Test
    void aNameAlreadyInUseIsRefusedNamingTheStepAndTheInterface() {
        try (TunDevice first = TunDevice.create(name)) {
            assertThatThrownBy(() -> TunDevice.create(name))
                    .isInstanceOf(NetworkSetupException.class)
                    .hasMessageStartingWith("TUNSETIFF " + name + ": ");
        }
    }

    @Test
    void aFailedConfigurationStepIsNamed() {
        try (TunDevice tun = TunDevice.create(name)) {
            assertThatThrownBy(() -> tun.configure(Cidr.parseAddress("10.213.7.1"), 24, 20, 500))
                    .isInstanceOf(NetworkSetupException.class)
                    .hasMessage("SIOCSIFMTU " + name + " 20: Invalid argument");
            // down and without an address, the gateway is unreachable
            assertThatThrownBy(() -> tun.addDefaultRoute(Cidr.parseAddress("10.213.7.1")))
                    .isInstanceOf(NetworkSetupException.class)
                    .hasMessageStartingWith("SIOCADDRT default via 10.213.7.1 dev " + name + ": ");
        }
    }

    @Test
    void aPersistentDeviceOutlivesItsDescriptorAndCanBeReopenedWithItsAddress() throws Exception {
        try {
            TunDevice first = TunDevice.create(name);
            first.makePersistent();
            first.configure(Cidr.parseAddress("10.213.8.1"), 24, 1300, 500);
            first.close();
            assertThat(Path.of("/sys/class/net", name)).exists();
            try (TunDevice again = TunDevice.create(name)) {
                assertThat(Files.readString(Path.of("/sys/class/net", name, "mtu")).strip()).isEqualTo("1300");
                assertThat(again.fd()).isNotNegative();
                assertThat(tunFlags()).as("re-opened with the virtio header").isEqualTo(TUN_NO_PI_VNET_HDR);
            }
            assertThat(Path.of("/sys/class/net", name)).exists();
        } finally {
            new ProcessBuilder("ip", "link", "del", name).start().waitFor();
        }
        assertThat(Path.of("/sys/class/net", name)).doesNotExist();
    }

    @Test
    void aPersistentDeviceMadeWithoutTheVirtioHeaderIsReopenedWithIt() throws Exception {
        // as left by an older emperor, or by hand
        assertThat(new ProcessBuilder("ip", "tuntap", "add", "dev", name, "mode", "tun").start().waitFor()).isZero();
        try {
            assertThat(tunFlags() & LibC.IFF_VNET_HDR).isZero();
            try (TunDevice reopened = TunDevice.create(name)) {
                assertThat(tunFlags()).isEqualTo(TUN_NO_PI_VNET_HDR);
            }
        } finally {
            new ProcessBuilder("ip", "link", "del", name).start().waitFor();
        }
    }

    @Test
    void badNamesAreRefusedBeforeTouchingTheKernel() {
        assertThatThrownBy(() -> TunDevice.create("a-name-that-is-too-long")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TunDevice.create("a/b")).isInstanceOf(IllegalArgumentException.class);
    }
}
