package dev.emperor.tunrouter;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * What the host's kernel does with tenant traffic, in an nftables table of Emperor's own,
 * {@code table ip emperor_NAME} (Emperor never reads or changes any other table):
 *
 * <ul>
 *   <li>outbound NAT: packets from the subnet leaving through any interface but the gateway's
 *       are masqueraded;</li>
 *   <li>the host is closed to tenants: a packet from the gateway interface to any address of
 *       the host is dropped unless it belongs to a connection the host opened (the proxy's,
 *       say), is a ping of the gateway address, or is for a {@link HostService} the operator
 *       opened at the gateway address, or for one of the platform's {@link PublicListener}s
 *       (the front proxy, public ports), which a tenant reaches at the host's addresses as an
 *       outside client would ("hairpin": a site reaching another by its public name). Stateful,
 *       so the host's own connections into tenants work; it covers every host address, which
 *       the userspace router cannot see;</li>
 *   <li>nobody routes into the subnet from outside: a new connection forwarded towards the
 *       gateway interface (a neighbour on the LAN with a route to the subnet via this host) is
 *       dropped; replies to tenants' own connections pass.</li>
 * </ul>
 *
 * Installing replaces the table atomically (one {@code nft -f -} transaction), so a reload
 * never leaves a moment without the rules. {@link #install} also sets
 * {@code net.ipv4.ip_forward=1}, without which the host would not forward tenant packets at
 * all. The old value is not remembered and {@link #remove} does not restore it: other software
 * on the host may rely on forwarding once it is on.
 */
public final class NatTable {
    private static final Pattern NAME = Pattern.compile("[a-z0-9_]{1,40}");
    private static final Pattern INTERFACE = Pattern.compile("[A-Za-z0-9_.\\-]{1,15}");
    private static final Path IP_FORWARD = Path.of("/proc/sys/net/ipv4/ip_forward");

    private final String table;

    private NatTable(String table) {
        this.table = table;
    }

    /** The table {@code emperor_NAME}; {@code name} is lower-case letters, digits and '_'. */
    public static NatTable named(String name) {
        Objects.requireNonNull(name, "name");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("NAT table name '" + name + "' must be 1 to 40 of a-z, 0-9 and '_'");
        }
        return new NatTable("emperor_" + name);
    }

    /** {@code ip TABLE}, as nft names it. */
    public String table() {
        return table;
    }

    /**
     * Installs (or replaces) the table for {@code subnet} behind {@code gatewayInterface}, with
     * {@code hostServices} open at the gateway address, and turns on IPv4 forwarding.
     */
    public void install(TenantSubnet subnet, String gatewayInterface, List<HostService> hostServices) {
        install(subnet, gatewayInterface, hostServices, List.of());
    }

    /**
     * The same, with {@code publicListeners} open to tenants too: each at the address it
     * listens on, or at every address of the host for a wildcard listener, TCP only.
     */
    public void install(TenantSubnet subnet, String gatewayInterface, List<HostService> hostServices,
            List<PublicListener> publicListeners) {
        Objects.requireNonNull(subnet, "subnet");
        if (!INTERFACE.matcher(gatewayInterface).matches()) {
            throw new IllegalArgumentException("interface name '" + gatewayInterface + "' is not a valid interface name");
        }
        String gateway = Cidr.format(subnet.gateway());
        String device = "\"" + gatewayInterface + "\"";
        StringBuilder open = new StringBuilder();
        for (HostService service : hostServices) {
            open.append("    ip daddr ").append(gateway).append(' ').append(service.protocol())
                    .append(" dport ").append(service.nftPorts()).append(" accept\n");
        }
        // Hairpin: what an outside client reaches, and nothing more (other services on the
        // same addresses and ports stay closed; the host's loopback is never among them).
        java.util.TreeSet<Integer> everyAddress = new java.util.TreeSet<>();
        java.util.List<String> oneAddress = new java.util.ArrayList<>();
        for (PublicListener listener : publicListeners) {
            if (listener.address() == PublicListener.EVERY_ADDRESS) {
                everyAddress.add(listener.port());
            } else {
                oneAddress.add(Cidr.format(listener.address()) + " . " + listener.port());
            }
        }
        if (!everyAddress.isEmpty()) {
            open.append("    tcp dport { ").append(String.join(", ", everyAddress.stream().map(String::valueOf).toList()))
                    .append(" } accept\n");
        }
        if (!oneAddress.isEmpty()) {
            open.append("    ip daddr . tcp dport { ").append(String.join(", ", oneAddress)).append(" } accept\n");
        }
        // "add" then "delete" makes the delete succeed whether or not the table existed; all in one transaction.
        String script = "add table ip " + table + "\n"
                + "delete table ip " + table + "\n"
                + "table ip " + table + " {\n"
                + "  chain postrouting {\n"
                + "    type nat hook postrouting priority srcnat; policy accept;\n"
                + "    ip saddr " + subnet.cidr() + " oifname != " + device + " masquerade\n"
                + "  }\n"
                + "  chain input {\n"
                + "    type filter hook input priority filter; policy accept;\n"
                + "    iifname != " + device + " accept\n"
                + "    ct state established,related accept\n"
                + "    ip daddr " + gateway + " icmp type echo-request accept\n"
                + open
                + "    counter drop\n"
                + "  }\n"
                + "  chain forward {\n"
                + "    type filter hook forward priority filter; policy accept;\n"
                + "    oifname != " + device + " accept\n"
                + "    iifname " + device + " accept\n"
                + "    ct state established,related accept\n"
                + "    counter drop\n"
                + "  }\n"
                + "}\n";
        nft("install nftables table ip " + table, script);
        try {
            Files.writeString(IP_FORWARD, "1\n");
        } catch (IOException e) {
            throw new NetworkSetupException("set net.ipv4.ip_forward=1 (" + IP_FORWARD + "): " + e.getMessage(), e);
        }
    }

    /** Removes the table if it exists. */
    public void remove() {
        nft("remove nftables table ip " + table, "add table ip " + table + "\ndelete table ip " + table + "\n");
    }

    /** Whether the table is in the ruleset now. */
    public boolean isInstalled() {
        String tables = run("list nftables tables", List.of("nft", "list", "tables"), null);
        return tables.lines().anyMatch(line -> line.strip().equals("table ip " + table));
    }

    private static void nft(String step, String script) {
        run(step, List.of("nft", "-f", "-"), script);
    }

    private static String run(String step, List<String> command, String stdin) {
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new NetworkSetupException(step + ": nft not found: apt-get install nftables", e);
        }
        try {
            try (OutputStream in = process.getOutputStream()) {
                if (stdin != null) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            }
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new NetworkSetupException(step + ": nft did not finish within 30 s");
            }
            if (process.exitValue() != 0) {
                throw new NetworkSetupException(step + ": nft exited with " + process.exitValue() + ": " + output.strip());
            }
            return output;
        } catch (IOException e) {
            throw new NetworkSetupException(step + ": talking to nft: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            throw new NetworkSetupException(step + ": interrupted", e);
        }
    }
}
