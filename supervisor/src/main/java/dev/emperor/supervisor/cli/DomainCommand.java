package dev.emperor.supervisor.cli;

import static dev.emperor.supervisor.cli.ControlRequests.request;
import static dev.emperor.supervisor.cli.ControlRequests.send;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * `emperor domain list|transfer|approve|revoke`: who holds which domain (the first tenant to
 * claim it), and the operator's say over it.
 */
@Command(name = "domain", mixinStandardHelpOptions = true,
        description = "Show who holds which domain, move a domain to another tenant, or approve names outside domain-allow.",
        subcommands = {DomainCommand.ListDomains.class, DomainCommand.Transfer.class, DomainCommand.Approve.class,
            DomainCommand.Revoke.class})
public final class DomainCommand implements Runnable {
    @Override
    public void run() {
        System.err.println("emperor domain: use `emperor domain list`, `emperor domain transfer NAME FROM TO`,"
                + " `emperor domain approve NAME TENANT` or `emperor domain revoke NAME TENANT`");
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "Every held domain with its owner and the time of its claim, then the operator's approvals.")
    public static final class ListDomains implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Option(names = "--json", description = "the emperor's answer as JSON")
        boolean json;

        @Override
        public Integer call() throws Exception {
            Optional<ObjectNode> accepted = send(config, request("domain-list"));
            if (accepted.isEmpty()) return 1;
            ObjectNode reply = accepted.get();
            if (json) {
                System.out.println(reply.toPrettyString());
                return 0;
            }
            for (JsonNode d : reply.path("domains")) {
                System.out.printf("%-40s %-20s claimed %s%n", d.path("domain").asText(), d.path("owner").asText(),
                        d.path("claimedAt").asText());
            }
            if (reply.path("domains").isEmpty()) System.out.println("(no domains held)");
            for (JsonNode a : reply.path("approvals")) {
                System.out.printf("approved: %-30s for %-20s since %s%n", a.path("domain").asText(),
                        a.path("tenant").asText(), a.path("approvedAt").asText());
            }
            return 0;
        }
    }

    @Command(name = "transfer", mixinStandardHelpOptions = true,
            description = "Give FROM's domain NAME (and FROM's names below it, for a wildcard) to TO, whose vassal file"
                    + " must name it. FROM's file then shows the name refused.")
    public static final class Transfer implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Parameters(index = "0", paramLabel = "NAME", description = "the domain, as held (e.g. shop.example or *.shop.example)")
        String domain;

        @Parameters(index = "1", paramLabel = "FROM", description = "the tenant that holds it")
        String from;

        @Parameters(index = "2", paramLabel = "TO", description = "the tenant that gets it")
        String to;

        @Override
        public Integer call() throws Exception {
            Optional<ObjectNode> accepted =
                    send(config, request("domain-transfer").put("domain", domain).put("from", from).put("to", to));
            if (accepted.isEmpty()) return 1;
            ObjectNode reply = accepted.get();
            java.util.List<String> moved = new java.util.ArrayList<>();
            reply.path("transferred").forEach(n -> moved.add(n.asText()));
            System.out.println(String.join(", ", moved) + ": transferred from " + from + " to " + to);
            return 0;
        }
    }

    @Command(name = "approve", mixinStandardHelpOptions = true,
            description = "Let TENANT claim NAME (and the names a wildcard NAME covers) although domain-allow does not"
                    + " cover it. The claim is made at once if its file names it and no other tenant holds it.")
    public static final class Approve implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Parameters(index = "0", paramLabel = "NAME", description = "the domain or *.domain")
        String domain;

        @Parameters(index = "1", paramLabel = "TENANT", description = "the tenant")
        String tenant;

        @Override
        public Integer call() throws Exception {
            Optional<ObjectNode> accepted =
                    send(config, request("domain-approve").put("domain", domain).put("name", tenant));
            if (accepted.isEmpty()) return 1;
            ObjectNode reply = accepted.get();
            System.out.println(domain + ": approved for " + tenant);
            return 0;
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true,
            description = "Withdraw an approval; the names TENANT held only thanks to it are released.")
    public static final class Revoke implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Parameters(index = "0", paramLabel = "NAME", description = "the domain or *.domain, as approved")
        String domain;

        @Parameters(index = "1", paramLabel = "TENANT", description = "the tenant")
        String tenant;

        @Override
        public Integer call() throws Exception {
            Optional<ObjectNode> accepted =
                    send(config, request("domain-revoke").put("domain", domain).put("name", tenant));
            if (accepted.isEmpty()) return 1;
            ObjectNode reply = accepted.get();
            java.util.List<String> released = new java.util.ArrayList<>();
            reply.path("released").forEach(n -> released.add(n.asText()));
            System.out.println(domain + ": approval for " + tenant + " revoked"
                    + (released.isEmpty() ? "" : "; released " + String.join(", ", released)));
            return 0;
        }
    }
}
