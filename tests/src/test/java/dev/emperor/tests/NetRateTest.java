package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A vassal's net-rate, end to end through a real emperor's tun router: traffic to the tenant
 * beyond its rate is dropped and counted in its status, and a file change lifts the rate on
 * the running tenant, without a restart.
 */
class NetRateTest {
    private static final int DATAGRAMS = 500;
    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().build();
    private final EmperorProcess emperor = fixture.process();

    @Test
    void trafficBeyondTheRateIsDroppedAndCountedAndAFileChangeLiftsItWithoutARestart() throws Exception {
        emperor.vassal("capped", "distro = busybox", "exec = sleep 100000", "net-rate = 64K");
        JsonNode status = emperor.waitForRunning("capped");
        int pid = status.path("pid").asInt();
        InetAddress address = InetAddress.getByName(status.path("address").asText());

        // 500 datagrams of 1400 bytes (700 KB) at once: far more than a 64 KiB burst at 64 KiB/s
        long inBefore = status.path("packetsIn").asLong();
        send(address);
        JsonNode flooded = waitForPacketsIn("capped", inBefore + DATAGRAMS);
        long dropped = flooded.path("drops").asLong();
        assertThat(dropped).as("drops over the rate").isPositive().isLessThan(DATAGRAMS);
        // by reason too (the tenant's own IPv6 router solicitations may add an ipv6-unsupported or two)
        long overRate = flooded.path("dropsByReason").path("over-rate").asLong();
        assertThat(overRate).as("drops counted as over-rate").isPositive().isLessThanOrEqualTo(dropped)
                .isGreaterThan(dropped - 10);
        assertThat(emperor.command("status", "capped").out()).containsPattern("dropped \\(.*over-rate \\d+");

        emperor.vassal("capped", "distro = busybox", "exec = sleep 100000");
        emperor.waitFor("the net-rate change to be applied", Duration.ofSeconds(10),
                () -> emperor.command("events", "capped").out().contains("applied without a restart"));
        long inNow = emperor.statusOf("capped").path("packetsIn").asLong();
        long overRateNow = emperor.statusOf("capped").path("dropsByReason").path("over-rate").asLong();
        send(address);
        waitForPacketsIn("capped", inNow + DATAGRAMS);
        JsonNode after = emperor.statusOf("capped"); // read again: the last frame's verdict is in
        // over-rate only: the total may also count the tenant's own IPv6 solicitations meanwhile
        assertThat(after.path("dropsByReason").path("over-rate").asLong()).as("over-rate drops once the rate is lifted")
                .isEqualTo(overRateNow);
        assertThat(after.path("pid").asInt()).as("the same payload").isEqualTo(pid);
    }

    private static void send(InetAddress address) throws Exception {
        byte[] payload = new byte[1400];
        try (DatagramSocket socket = new DatagramSocket()) {
            for (int i = 0; i < DATAGRAMS; i++) {
                socket.send(new DatagramPacket(payload, payload.length, address, 9));
            }
        }
    }

    private JsonNode waitForPacketsIn(String tenant, long atLeast) {
        JsonNode[] seen = new JsonNode[1];
        emperor.waitFor(tenant + "'s packets in to reach " + atLeast, Duration.ofSeconds(30), () -> {
            seen[0] = emperor.statusOf(tenant);
            return seen[0].path("packetsIn").asLong() >= atLeast;
        }, () -> "status: " + seen[0]);
        return seen[0];
    }
}
