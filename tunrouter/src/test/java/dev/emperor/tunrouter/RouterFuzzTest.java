package dev.emperor.tunrouter;

import static dev.emperor.tunrouter.Packets.ip;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Hostile frames, seeded so any failure replays: random and mutated frames never make the router
 * throw, every frame is either forwarded or dropped with a counted reason, a tenant's frame never
 * goes to another tenant, and a frame from the gateway only goes to the tenant holding its
 * destination.
 */
class RouterFuzzTest {
    private static final TenantSubnet SUBNET = TenantSubnet.parse("10.200.0.0/16");
    private static final int TENANTS = 8;
    private static final int MAX_FRAME = 1500;

    @Test
    void hundredThousandHostileFramesAreEachForwardedOrDroppedAndCounted() throws FirewallRuleException {
        Firewall firewall = new Firewall(SUBNET, new FirewallRules(
                List.of(FirewallRuleParser.parse("deny 0.0.0.0 0.0.0.0 proto tcp port 25", "emperor.ini:1"),
                        FirewallRuleParser.parse("allow", "emperor.ini:2")),
                List.of(FirewallRuleParser.parse("deny 0.0.0.0 0.0.0.0 proto udp port 0-1023", "emperor.ini:3"))),
                Verdict.ALLOW);
        Router router = new Router(firewall, MAX_FRAME, true);
        int[] ids = new int[TENANTS];
        int[] addresses = new int[TENANTS];
        for (int i = 0; i < TENANTS; i++) {
            addresses[i] = ip("10.200.0.2") + i;
            ids[i] = router.attach("t" + i, addresses[i], FirewallRules.NONE);
        }

        Random random = new Random(0x5eed_2026L);
        ByteBuffer buffer = ByteBuffer.allocate(70_000);
        long forwardedOut = 0;
        long forwardedIn = 0;
        long dropped = 0;
        for (int n = 0; n < 100_000; n++) {
            int sender = random.nextInt(TENANTS);
            boolean fromGateway = random.nextInt(3) == 0;
            byte[] frame = frame(random, fromGateway ? randomOutside(random) : addresses[sender],
                    fromGateway ? addresses[random.nextInt(TENANTS)] : randomDestination(random, addresses));
            buffer.clear();
            buffer.put(frame).flip();

            int result = fromGateway ? router.fromGateway(buffer) : router.fromTenant(ids[sender], buffer);

            assertThat(buffer.position()).isZero();
            if (Router.isDrop(result)) {
                assertThat(Router.dropReason(result)).isNotNull();
                dropped++;
            } else if (fromGateway) {
                assertThat(result).as("delivered to an attached tenant").isBetween(0, TENANTS - 1);
                assertThat(ByteBuffer.wrap(frame).getInt(16)).as("only the destination's holder receives").isEqualTo(addresses[result]);
                forwardedIn++;
            } else {
                assertThat(result).as("a tenant's frame goes to the gateway or nowhere").isEqualTo(Router.TO_GATEWAY);
                assertThat(ByteBuffer.wrap(frame).getInt(12)).as("forwarded source is the tenant's own").isEqualTo(addresses[sender]);
                forwardedOut++;
            }
        }

        long countedOut = 0;
        long countedIn = 0;
        long countedDrops = router.unattributed().snapshot().totalDrops();
        java.util.EnumSet<DropReason> seen = java.util.EnumSet.noneOf(DropReason.class);
        seen.addAll(router.unattributed().snapshot().drops().keySet());
        for (int id : ids) {
            TenantCounters.Snapshot s = router.counters(id).snapshot();
            countedOut += s.packetsOut();
            countedIn += s.packetsIn();
            countedDrops += s.totalDrops();
            seen.addAll(s.drops().keySet());
        }
        assertThat(seen).as("the damage reaches every check").contains(DropReason.TRUNCATED, DropReason.BAD_VERSION,
                DropReason.IPV6_UNSUPPORTED, DropReason.BAD_IHL, DropReason.BAD_LENGTH, DropReason.TOO_LARGE,
                DropReason.BAD_CHECKSUM, DropReason.BAD_FRAGMENT, DropReason.TENANT_TO_TENANT, DropReason.FIREWALL,
                DropReason.NO_ROUTE);
        assertThat(countedOut).isEqualTo(forwardedOut);
        assertThat(countedIn).isEqualTo(forwardedIn);
        assertThat(countedDrops).isEqualTo(dropped);
        assertThat(forwardedOut + forwardedIn + dropped).isEqualTo(100_000);
        // The mix must exercise both outcomes, or the test proves little.
        assertThat(forwardedOut).isGreaterThan(1_000);
        assertThat(forwardedIn).isGreaterThan(1_000);
        assertThat(dropped).isGreaterThan(30_000);
    }

    private static int randomOutside(Random random) {
        return random.nextInt(4) == 0 ? random.nextInt() : ip("93.184.216.34") + random.nextInt(256);
    }

    private static int randomDestination(Random random, int[] addresses) {
        return switch (random.nextInt(6)) {
            case 0 -> addresses[random.nextInt(addresses.length)];
            case 1 -> random.nextInt();
            case 2 -> SUBNET.gateway();
            default -> ip("93.184.216.34") + random.nextInt(256);
        };
    }

    /** A valid packet, then maybe one or more kinds of damage. */
    private static byte[] frame(Random random, int source, int destination) {
        int kind = random.nextInt(12);
        if (kind == 0) {
            byte[] garbage = new byte[random.nextInt(100)];
            random.nextBytes(garbage);
            return garbage;
        }
        if (kind == 1) {
            return new byte[MAX_FRAME + 1 + random.nextInt(65_000)]; // huge
        }
        int protocol = switch (random.nextInt(4)) {
            case 0 -> Ipv4Packet.PROTOCOL_TCP;
            case 1 -> Ipv4Packet.PROTOCOL_UDP;
            case 2 -> Ipv4Packet.PROTOCOL_ICMP;
            default -> random.nextInt(256);
        };
        int offset = random.nextInt(5) == 0 ? 8 * random.nextInt(200) : 0;
        byte[] frame = Packets.header(source, destination, protocol, 20 + random.nextInt(1400), offset, random.nextBoolean());
        for (int i = 20; i < frame.length; i++) {
            frame[i] = (byte) random.nextInt();
        }
        if (protocol == Ipv4Packet.PROTOCOL_ICMP && random.nextBoolean()) {
            frame[20] = 3;
            frame[21] = 4;
        }
        switch (kind) {
            case 2 -> frame[0] = (byte) (0x60 | (frame[0] & 0x0f)); // IPv6 version nibble
            case 3 -> frame[0] = (byte) (0x40 | random.nextInt(16)); // any IHL
            case 4 -> { // any total length
                frame[2] = (byte) random.nextInt();
                frame[3] = (byte) random.nextInt();
            }
            case 5 -> frame = java.util.Arrays.copyOf(frame, random.nextInt(frame.length)); // truncated
            case 6 -> { // flipped bytes anywhere
                for (int i = random.nextInt(4); i >= 0; i--) {
                    frame[random.nextInt(frame.length)] ^= (byte) (1 + random.nextInt(255));
                }
            }
            case 7 -> frame[6] = (byte) random.nextInt(); // fragment flags and offset
            default -> {
            }
        }
        if (kind >= 2 && random.nextInt(4) != 0) {
            Packets.fixChecksum(frame); // mostly get past the checksum to reach deeper checks
        }
        return frame;
    }
}
