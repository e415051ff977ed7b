package dev.emperor.tunrouter;

import static dev.emperor.tunrouter.Packets.ip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class PacketPumpTest {
    private static final TenantSubnet SUBNET = TenantSubnet.parse("10.200.0.0/16");
    private static final int QUEUE_FRAMES = 8;

    private Router router;
    private DatagramPair gateway;
    private DatagramPair alicePair;
    private DatagramPair bobPair;
    private PacketPump pump;
    private int alice;
    private int bob;

    @BeforeEach
    void setUp() {
        router = new Router(new Firewall(SUBNET, FirewallRules.NONE, Verdict.ALLOW), 1500, true);
        alice = router.attach("alice", ip("10.200.0.2"), FirewallRules.NONE);
        bob = router.attach("bob", ip("10.200.0.3"), FirewallRules.NONE);
        gateway = new DatagramPair();
        alicePair = new DatagramPair();
        bobPair = new DatagramPair();
        pump = new PacketPump(router, gateway.pumpEnd, QUEUE_FRAMES);
        pump.attach(alice, alicePair.pumpEnd);
        pump.attach(bob, bobPair.pumpEnd);
    }

    @AfterEach
    void tearDown() {
        pump.close();
        gateway.close();
        alicePair.close();
        bobPair.close();
    }

    private static byte[] bytes(ByteBuffer frame) {
        return Arrays.copyOfRange(frame.array(), frame.position(), frame.limit());
    }

    @Test
    void movesAllowedFramesBothWaysAndCountsThem() {
        ByteBuffer out = Packets.tcp("10.200.0.2", "93.184.216.34", 443);
        alicePair.send(out);
        assertThat(gateway.receive(10_000)).isEqualTo(bytes(out));

        ByteBuffer in = Packets.tcp("93.184.216.34", "10.200.0.2", 40000);
        gateway.send(in);
        assertThat(alicePair.receive(10_000)).isEqualTo(bytes(in));

        TenantCounters.Snapshot counted = router.counters(alice).snapshot();
        assertThat(counted.packetsOut()).isEqualTo(1);
        assertThat(counted.bytesOut()).isEqualTo(out.remaining());
        assertThat(counted.packetsIn()).isEqualTo(1);
        assertThat(counted.bytesIn()).isEqualTo(in.remaining());
    }

    @Test
    void dropsWhatTheRouterRefusesAndForwardsTheNextFrame() {
        alicePair.send(Packets.udp("10.200.0.9", "1.1.1.1", 53));   // spoofed
        alicePair.send(Packets.udp("10.200.0.2", "10.200.0.3", 53)); // to bob
        ByteBuffer fine = Packets.udp("10.200.0.2", "1.1.1.1", 53);
        alicePair.send(fine);

        assertThat(gateway.receive(10_000)).isEqualTo(bytes(fine));
        assertThat(bobPair.receive(0)).isNull();
        TenantCounters.Snapshot counted = router.counters(alice).snapshot();
        assertThat(counted.drops(DropReason.SPOOFED_SOURCE)).isEqualTo(1);
        assertThat(counted.drops(DropReason.TENANT_TO_TENANT)).isEqualTo(1);
    }

    @Test
    void aTenantThatStopsReadingDoesNotStallTheOthersAndItsOverflowIsCounted() {
        int sent = 300;
        for (int i = 0; i < sent; i++) {
            gateway.send(Packets.udp("1.1.1.1", "10.200.0.3", 1000 + i));
        }
        ByteBuffer forAlice = Packets.udp("1.1.1.1", "10.200.0.2", 53);
        gateway.send(forAlice);

        // Bob reads nothing, yet Alice's frame, sent after all of Bob's, arrives.
        assertThat(alicePair.receive(10_000)).isEqualTo(bytes(forAlice));
        long dropped = router.counters(bob).snapshot().drops(DropReason.QUEUE_FULL);
        assertThat(dropped).isPositive();

        // Once Bob reads again, his queue is written out: every frame was delivered or counted.
        int received = 0;
        while (bobPair.receive(2_000) != null) {
            received++;
        }
        assertThat(received + router.counters(bob).snapshot().drops(DropReason.QUEUE_FULL)).isEqualTo(sent);
        assertThat(received).isGreaterThan(QUEUE_FRAMES);
    }

    @Test
    void aWriteTheDestinationRefusesIsCountedAndStallsNeitherThePumpNorAnotherTenant() {
        // as a tun refuses a frame its kernel finds malformed (EINVAL): an error other than EAGAIN
        bobPair.refuseWrites();
        gateway.send(Packets.udp("1.1.1.1", "10.200.0.3", 1000));
        ByteBuffer forAlice = Packets.udp("1.1.1.1", "10.200.0.2", 53);
        gateway.send(forAlice);
        gateway.send(Packets.udp("1.1.1.1", "10.200.0.3", 1001));
        gateway.send(forAlice);

        assertThat(alicePair.receive(10_000)).isEqualTo(bytes(forAlice));
        assertThat(alicePair.receive(10_000)).isEqualTo(bytes(forAlice));
        assertThat(router.counters(bob).snapshot().drops(DropReason.WRITE_FAILED)).isEqualTo(2);
        assertThat(router.counters(bob).snapshot().drops(DropReason.QUEUE_FULL)).isZero();
    }

    @Test
    void aDetachedTenantIsNoLongerReadAndCanBeAttachedAgain() {
        pump.detach(alice);
        ByteBuffer waiting = Packets.udp("10.200.0.2", "1.1.1.1", 53);
        alicePair.send(waiting);
        ByteBuffer fromBob = Packets.udp("10.200.0.3", "1.1.1.1", 53);
        bobPair.send(fromBob);
        assertThat(gateway.receive(10_000)).isEqualTo(bytes(fromBob));
        assertThat(gateway.receive(0)).isNull();

        pump.attach(alice, alicePair.pumpEnd);
        assertThat(gateway.receive(10_000)).isEqualTo(bytes(waiting));
    }

    @Test
    void attachingATenantTwiceOrDetachingAStrangerIsRefused() {
        assertThatThrownBy(() -> pump.attach(alice, alicePair.pumpEnd))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("already attached");
        assertThatThrownBy(() -> pump.detach(42))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not attached");
    }

    @Test
    void aClosedPumpRefusesCommands() {
        pump.close();
        assertThatThrownBy(() -> pump.detach(alice)).isInstanceOf(IllegalStateException.class);
    }

    // ---- fair share and net-rate ------------------------------------------------------------

    /** A 1432-byte UDP datagram. */
    private static ByteBuffer large(String src, String dst) {
        return Packets.transport(ip(src), ip(dst), Ipv4Packet.PROTOCOL_UDP, 40000, 9, 1400, 0, false);
    }

    private static void waitUntil(String what, java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("waited 20 s for " + what);
            }
            Thread.onSpinWait();
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    @Test
    void aFlooderFillsOnlyItsOwnQueueTowardsAFullGatewayAndItsNeighboursFramesAllGetThrough() {
        // The gateway reads nothing for now: bob floods until the pump queues and drops his frames.
        int flood = 1000;
        for (int i = 0; i < flood; i++) {
            bobPair.send(Packets.udp("10.200.0.3", "1.1.1.1", 1000 + i % 1000));
        }
        waitUntil("bob's QUEUE_FULL drops", () -> router.counters(bob).snapshot().drops(DropReason.QUEUE_FULL) > 0);

        int quiet = QUEUE_FRAMES - 1;
        for (int i = 0; i < quiet; i++) {
            alicePair.send(Packets.udp("10.200.0.2", "1.1.1.1", 53));
        }
        waitUntil("alice's frames read", () -> router.counters(alice).snapshot().packetsOut() == quiet);

        int fromAlice = 0;
        int fromBob = 0;
        byte[] frame;
        while ((frame = gateway.receive(2_000)) != null) {
            if (frame[15] == 2) fromAlice++; else fromBob++;
        }
        assertThat(fromAlice).as("alice's frames at the gateway").isEqualTo(quiet);
        assertThat(router.counters(alice).snapshot().drops(DropReason.QUEUE_FULL)).isZero();
        long bobDropped = router.counters(bob).snapshot().drops(DropReason.QUEUE_FULL);
        assertThat(bobDropped).isPositive();
        assertThat(fromBob + bobDropped).as("bob's frames delivered or counted").isEqualTo(flood);
    }

    @Test
    void overItsRateATenantsFramesInAreDroppedAndCountedAndItsNeighbourIsUntouched() {
        pump.setRate(alice, 1000); // bytes per second: the 64 KiB burst, then almost nothing
        int sent = 100;
        for (int i = 0; i < sent; i++) {
            gateway.send(large("1.1.1.1", "10.200.0.2"));
            gateway.send(large("1.1.1.1", "10.200.0.3"));
        }
        int toAlice = 0;
        while (alicePair.receive(2_000) != null) toAlice++;
        int toBob = 0;
        while (bobPair.receive(2_000) != null) toBob++;
        long overRate = router.counters(alice).snapshot().drops(DropReason.OVER_RATE);
        assertThat(overRate).isPositive();
        assertThat(toAlice + overRate).isEqualTo(sent);
        assertThat(toBob).isEqualTo(sent);
        assertThat(router.counters(bob).snapshot().drops(DropReason.OVER_RATE)).isZero();
    }

    @Test
    void overItsRateATenantsFramesOutWaitInItsOwnTunAndFlowWhenTheRateIsLifted() {
        pump.setRate(alice, 1000);
        // more than her 64 KiB burst, yet few enough that the rest fits in the socket's buffer
        // however late the pump starts reading (100 frames filled it on a loaded machine)
        int sent = 60;
        for (int i = 0; i < sent; i++) {
            alicePair.send(large("10.200.0.2", "1.1.1.1"));
        }
        ByteBuffer fromBob = Packets.udp("10.200.0.3", "1.1.1.1", 53);
        bobPair.send(fromBob);
        int fromAlice = 0;
        boolean bobArrived = false;
        byte[] frame = gateway.receive(10_000);
        // past her burst, each 1432-byte frame of hers waits 1.4 s for tokens: a 0.5 s gap ends the burst
        for (; frame != null; frame = gateway.receive(500)) {
            if (frame[15] == 2) fromAlice++; else bobArrived = true;
        }
        assertThat(bobArrived).isTrue();
        assertThat(fromAlice).as("alice's frames through while over her rate").isLessThan(sent).isPositive();

        pump.setRate(alice, 0);
        while (gateway.receive(2_000) != null) fromAlice++;
        assertThat(fromAlice).as("none lost: they waited in her tun").isEqualTo(sent);
        assertThat(router.counters(alice).snapshot().totalDrops()).isZero();
    }
}
