package dev.emperor.tunrouter;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * Decides where each packet goes, without doing any I/O: the packet pump reads a frame from a
 * tenant's {@code tun0} or from {@code emperor0}, asks the router, and writes the frame where
 * the answer says (or nowhere). Answers are ints, not objects:
 *
 * <ul>
 *   <li>{@code >= 0}: deliver to the tenant with that id;</li>
 *   <li>{@link #TO_GATEWAY}: write to {@code emperor0};</li>
 *   <li>anything else: dropped, and already counted; {@link #dropReason(int)} says why.</li>
 * </ul>
 *
 * From a tenant, a packet goes to the gateway or nowhere: it must carry the tenant's own source
 * address (anti-spoofing), must not be for another tenant, and must pass the firewall's
 * {@link Direction#OUT} rules. From the gateway, a packet goes only to the tenant holding its
 * destination address, must not come from another tenant's address, and must pass the
 * {@link Direction#IN} rules. A tenant therefore never receives a packet for another address.
 *
 * <p>Threads: {@link #fromTenant} and {@link #fromGateway} reuse one packet view, so they are
 * for one pump thread; {@link #attach}, {@link #detach} and the counters may be used from any
 * thread (the tenant table is copied on change and published whole).
 */
public final class Router {
    /** Send the frame to the gateway ({@code emperor0}). */
    public static final int TO_GATEWAY = -1;

    private static final int FIRST_DROP = -2;

    private final TenantSubnet subnet;
    private final Firewall firewall;
    private final int maxFrameBytes;
    private final boolean verifyChecksums;
    private final int headerBytes;
    private final Ipv4Packet packet = new Ipv4Packet();
    /** What the frame {@link #check} accepted is on the wire: packets, and their bytes with each one's headers. */
    private int wirePackets;
    private int wireBytes;
    private final TenantCounters unattributed = new TenantCounters();
    private volatile Tenants tenants = Tenants.EMPTY;

    /**
     * @param maxFrameBytes   largest frame accepted (the tun MTU, at most 65535)
     * @param verifyChecksums whether to drop packets with a wrong IPv4 header checksum (the
     *                        receiving kernel drops them anyway; checking here keeps them out of
     *                        the accounting as traffic)
     */
    public Router(Firewall firewall, int maxFrameBytes, boolean verifyChecksums) {
        this(firewall, maxFrameBytes, verifyChecksums, false);
    }

    /**
     * @param maxFrameBytes    largest IPv4 packet accepted, without the virtio header (65535
     *                         with offloads: TCP super-packets)
     * @param virtioNetHeaders whether every frame starts with a {@code virtio_net_hdr}, as read
     *                         from a {@link TunDevice}: it is checked against the packet
     *                         ({@link DropReason#BAD_VIRTIO_HEADER}) and left in place
     */
    public Router(Firewall firewall, int maxFrameBytes, boolean verifyChecksums, boolean virtioNetHeaders) {
        this.headerBytes = virtioNetHeaders ? VirtioNetHeader.LENGTH : 0;
        this.firewall = Objects.requireNonNull(firewall, "firewall");
        this.subnet = firewall.subnet();
        if (maxFrameBytes < 68 || maxFrameBytes > 65535) {
            throw new IllegalArgumentException("max frame size " + maxFrameBytes + " is not between 68 (IPv4 minimum MTU) and 65535");
        }
        this.maxFrameBytes = maxFrameBytes;
        this.verifyChecksums = verifyChecksums;
    }

    /** True when a result means the packet was dropped. */
    public static boolean isDrop(int result) {
        return result <= FIRST_DROP;
    }

    /** Why a packet was dropped, or null when {@code result} is not a drop. */
    public static DropReason dropReason(int result) {
        return isDrop(result) ? DropReason.ofOrdinal(FIRST_DROP - result) : null;
    }

    private static int drop(TenantCounters counters, DropReason reason) {
        counters.countDrop(reason);
        return FIRST_DROP - reason.ordinal();
    }

    /**
     * Attaches a tenant holding {@code address} (from {@link AddressPool}) with its own firewall
     * rules, and returns its tenant id (small, reused after {@link #detach}).
     */
    public synchronized int attach(String tenant, int address, FirewallRules ownRules) {
        Objects.requireNonNull(tenant, "tenant");
        if (!subnet.isTenantAddress(address)) {
            throw new IllegalArgumentException("tenant '" + tenant + "': " + Cidr.format(address)
                    + " is not a tenant address of " + subnet);
        }
        Tenants current = tenants;
        for (int id = 0; id < current.names.length; id++) {
            if (tenant.equals(current.names[id])) {
                throw new IllegalArgumentException("tenant '" + tenant + "' is already attached");
            }
        }
        int holder = current.lookup(address);
        if (holder >= 0) {
            throw new IllegalArgumentException("tenant '" + tenant + "': address " + Cidr.format(address)
                    + " is already held by tenant '" + current.names[holder] + "'");
        }
        int id = 0;
        while (id < current.names.length && current.names[id] != null) {
            id++;
        }
        firewall.setTenantRules(id, ownRules);
        tenants = current.with(id, tenant, address, new TenantCounters());
        return id;
    }

    /** Detaches a tenant: its packets are dropped as {@link DropReason#UNKNOWN_TENANT} or {@link DropReason#NO_ROUTE} from now on. */
    public synchronized void detach(int tenantId) {
        Tenants current = tenants;
        if (tenantId < 0 || tenantId >= current.names.length || current.names[tenantId] == null) {
            throw new IllegalArgumentException("tenant id " + tenantId + " is not attached");
        }
        tenants = current.with(tenantId, null, 0, null);
        firewall.clearTenantRules(tenantId);
    }

    /** The counters of an attached tenant. */
    public TenantCounters counters(int tenantId) {
        Tenants current = tenants;
        if (tenantId < 0 || tenantId >= current.names.length || current.names[tenantId] == null) {
            throw new IllegalArgumentException("tenant id " + tenantId + " is not attached");
        }
        return current.counters[tenantId];
    }

    /** Drops that belong to no tenant: bad frames from the gateway, no route, unknown tenant ids. */
    public TenantCounters unattributed() {
        return unattributed;
    }

    /** A frame read from tenant {@code tenantId}'s tun: {@link #TO_GATEWAY} or a drop. Leaves the buffer's position alone. */
    public int fromTenant(int tenantId, ByteBuffer frame) {
        Tenants current = tenants;
        if (tenantId < 0 || tenantId >= current.addresses.length || current.addresses[tenantId] == 0) {
            return drop(unattributed, DropReason.UNKNOWN_TENANT);
        }
        TenantCounters counters = current.counters[tenantId];
        DropReason bad = check(frame);
        if (bad != null) {
            return drop(counters, bad);
        }
        if (packet.source() != current.addresses[tenantId]) {
            return drop(counters, DropReason.SPOOFED_SOURCE);
        }
        int destination = packet.destination();
        if (subnet.contains(destination) && destination != subnet.gateway()) {
            return drop(counters, DropReason.TENANT_TO_TENANT);
        }
        if (firewall.decide(packet, Direction.OUT, tenantId) != Verdict.ALLOW) {
            return drop(counters, DropReason.FIREWALL);
        }
        counters.countOut(wirePackets, wireBytes);
        return TO_GATEWAY;
    }

    /** A frame read from {@code emperor0}: the id of the tenant to deliver it to, or a drop. Leaves the buffer's position alone. */
    public int fromGateway(ByteBuffer frame) {
        DropReason bad = check(frame);
        if (bad != null) {
            return drop(unattributed, bad);
        }
        Tenants current = tenants;
        int tenantId = current.lookup(packet.destination());
        if (tenantId < 0) {
            return drop(unattributed, DropReason.NO_ROUTE);
        }
        TenantCounters counters = current.counters[tenantId];
        int source = packet.source();
        // The kernel could hand one tenant's packet back to us for another (e.g. through a
        // host route): tenants never reach each other, by any path through the router.
        if (subnet.contains(source) && source != subnet.gateway()) {
            return drop(counters, DropReason.TENANT_TO_TENANT);
        }
        if (firewall.decide(packet, Direction.IN, tenantId) != Verdict.ALLOW) {
            return drop(counters, DropReason.FIREWALL);
        }
        counters.countIn(wirePackets, wireBytes);
        return tenantId;
    }

    /** Points {@link #packet} at the frame's IPv4 packet and validates it and its virtio header, if any. */
    private DropReason check(ByteBuffer frame) {
        if (headerBytes == 0) {
            DropReason bad = packet.wrap(frame).validate(maxFrameBytes, verifyChecksums);
            wirePackets = 1;
            wireBytes = packet.frameLength();
            return bad;
        }
        int start = frame.position();
        if (frame.remaining() < headerBytes) {
            return DropReason.BAD_VIRTIO_HEADER;
        }
        DropReason bad = packet.wrap(frame, start + headerBytes).validate(maxFrameBytes, verifyChecksums);
        if (bad != null) {
            return bad;
        }
        if (!VirtioNetHeader.describes(frame, start, packet)) {
            return DropReason.BAD_VIRTIO_HEADER;
        }
        // A super-packet is counted as the segments the receiving kernel cuts it into, so a
        // tenant's counters say what crossed the wire whatever the offloads did.
        wirePackets = VirtioNetHeader.wirePackets(frame, start, packet);
        wireBytes = packet.frameLength() + (wirePackets - 1) * VirtioNetHeader.segmentHeadersLength(frame, start, packet);
        return null;
    }

    /**
     * The attached tenants, never changed once published: arrays indexed by tenant id, and an
     * open-addressing map from address to tenant id (address 0 marks an empty slot; it is never
     * a tenant address), so that lookups on the packet path box nothing.
     */
    private static final class Tenants {
        static final Tenants EMPTY = new Tenants(new String[0], new int[0], new TenantCounters[0]);

        final String[] names;
        final int[] addresses;
        final TenantCounters[] counters;
        final int[] slotAddress;
        final int[] slotTenant;
        final int slotMask;

        Tenants(String[] names, int[] addresses, TenantCounters[] counters) {
            this.names = names;
            this.addresses = addresses;
            this.counters = counters;
            int size = 16;
            while (size < addresses.length * 2) {
                size <<= 1;
            }
            slotAddress = new int[size];
            slotTenant = new int[size];
            slotMask = size - 1;
            for (int id = 0; id < addresses.length; id++) {
                if (addresses[id] != 0) {
                    int slot = hash(addresses[id]) & slotMask;
                    while (slotAddress[slot] != 0) {
                        slot = (slot + 1) & slotMask;
                    }
                    slotAddress[slot] = addresses[id];
                    slotTenant[slot] = id;
                }
            }
        }

        private static int hash(int address) {
            int h = address * 0x9e3779b9;
            return h ^ (h >>> 16);
        }

        int lookup(int address) {
            if (address == 0) {
                return -1;
            }
            int slot = hash(address) & slotMask;
            while (true) {
                int found = slotAddress[slot];
                if (found == address) {
                    return slotTenant[slot];
                }
                if (found == 0) {
                    return -1;
                }
                slot = (slot + 1) & slotMask;
            }
        }

        Tenants with(int id, String name, int address, TenantCounters tenantCounters) {
            int length = Math.max(names.length, id + 1);
            String[] newNames = Arrays.copyOf(names, length);
            int[] newAddresses = Arrays.copyOf(addresses, length);
            TenantCounters[] newCounters = Arrays.copyOf(counters, length);
            newNames[id] = name;
            newAddresses[id] = address;
            newCounters[id] = tenantCounters;
            return new Tenants(newNames, newAddresses, newCounters);
        }
    }
}
