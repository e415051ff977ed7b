package dev.emperor.supervisor.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * `emperor cert put NAME FILE.pem`, `emperor cert list NAME`, `emperor cert issue NAME`,
 * `emperor cert renew` and `emperor cert rm NAME [--name HOST]`: a tenant's TLS certificates,
 * uploaded or from the ACME CA; a tenant may have several, chosen by SNI.
 */
@Command(name = "cert", mixinStandardHelpOptions = true,
        description = "Give a tenant TLS certificates (uploaded or from the ACME CA; several per tenant, each"
                + " handshake gets the one that covers its server name most exactly), list them, or take them away.",
        subcommands = {CertCommand.Put.class, CertCommand.ListCerts.class, CertCommand.Issue.class, CertCommand.Renew.class,
                CertCommand.Remove.class})
public final class CertCommand implements Runnable {
    @Override
    public void run() {
        System.err.println("emperor cert: use `emperor cert put NAME FILE.pem`, `emperor cert list NAME`,"
                + " `emperor cert issue NAME`, `emperor cert renew` or `emperor cert rm NAME [--name HOST]`");
    }

    private static int send(ConfigOption config, ObjectNode request, String done) throws Exception {
        return print(ControlRequests.send(config, request), done);
    }

    private static int print(Optional<ObjectNode> accepted, String done) {
        if (accepted.isEmpty()) return 1;
        ObjectNode reply = accepted.get();
        System.out.println(done + (reply.has("certificate") ? ": " + reply.path("certificate").asText() : ""));
        reply.path("replaced").forEach(r -> System.out.println("  replaced " + r.asText()));
        reply.path("removed").forEach(r -> System.out.println("  removed " + r.asText()));
        return 0;
    }

    @Command(name = "put", mixinStandardHelpOptions = true,
            description = "Check a PEM bundle (private key and certificate chain, any order) against the tenant's"
                    + " domains and serve it from the next handshake on, next to the tenant's other certificates."
                    + " It replaces each of them whose names it all carries (the same names, or fewer; compared as"
                    + " written, so a wildcard *.example.com does not replace www.example.com's certificate)."
                    + " A refused bundle changes nothing.")
    public static final class Put implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Parameters(index = "0", paramLabel = "NAME", description = "the tenant")
        String name;

        @Parameters(index = "1", paramLabel = "FILE.pem", description = "key and certificates, PEM")
        Path file;

        @Override
        public Integer call() throws Exception {
            byte[] pem = Files.readAllBytes(file); // read here: the daemon never opens operator paths
            ObjectNode request = ControlRequests.request("cert-put").put("name", name)
                    .put("pem", Base64.getEncoder().encodeToString(pem));
            return send(config, request, name + ": certificate stored");
        }
    }

    @Command(name = "issue", mixinStandardHelpOptions = true,
            description = "Get a certificate for the tenant's domains from the ACME CA of emperor.ini (acme-directory),"
                    + " proving each name over HTTP-01 through the running proxy, and serve it like an uploaded one."
                    + " Wildcards, names the platform certificate covers and names an uploaded certificate of the"
                    + " tenant covers are left out. It replaces the tenant's earlier ACME certificate; from then on"
                    + " the emperor renews it. A failure changes nothing and names the CA's reason.")
    public static final class Issue implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Parameters(paramLabel = "NAME", description = "the tenant")
        String name;

        @Option(names = "--wait", paramLabel = "SECONDS", defaultValue = "300",
                description = "how long to wait for the CA (default: ${DEFAULT-VALUE}); the issuance goes on after")
        long waitSeconds;

        @Override
        public Integer call() throws Exception {
            ObjectNode request = ControlRequests.request("cert-issue").put("name", name)
                    .put("wait", waitSeconds);
            // the emperor answers within the wait; the extra time covers a busy emperor
            return print(ControlRequests.send(config, request, Duration.ofSeconds(waitSeconds + 30)),
                    name + ": certificate issued");
        }
    }

    @Command(name = "renew", mixinStandardHelpOptions = true,
            description = "Run the renewal check now instead of at its next time: ACME certificates expiring within"
                    + " acme-renew-days are renewed (and, with acme-auto, missing ones issued). Uploaded certificates"
                    + " are never touched. Exits 1 if a certificate due could not be had (refused now, or waiting"
                    + " out the back-off after earlier refusals).")
    public static final class Renew implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Option(names = "--wait", paramLabel = "SECONDS", defaultValue = "600",
                description = "how long to wait for the pass (default: ${DEFAULT-VALUE})")
        long waitSeconds;

        @Override
        public Integer call() throws Exception {
            ObjectNode request = ControlRequests.request("cert-renew").put("wait", waitSeconds);
            Optional<ObjectNode> accepted = ControlRequests.send(config, request, Duration.ofSeconds(waitSeconds + 30));
            if (accepted.isEmpty()) return 1;
            ObjectNode reply = accepted.get();
            if (reply.path("renewals").isEmpty()) System.out.println("nothing to renew");
            reply.path("renewals").forEach(line -> System.out.println(line.asText()));
            int failed = reply.path("failed").asInt();
            if (failed > 0) {
                // A cron job or a script must see it: exit 1, as `cert issue` does.
                System.err.println("emperor: " + failed + " certificate(s) due could not be had; see the lines above"
                        + " and `emperor events NAME`");
                return 1;
            }
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "Show the tenant's certificates, one a line: origin (upload or acme), expiry, names;"
                    + " 'not served' marks one naming a name the tenant no longer holds.")
    public static final class ListCerts implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Parameters(paramLabel = "NAME", description = "the tenant")
        String name;

        @Override
        public Integer call() throws Exception {
            Optional<ObjectNode> accepted =
                    ControlRequests.send(config, ControlRequests.request("cert-list").put("name", name));
            if (accepted.isEmpty()) return 1;
            ObjectNode reply = accepted.get();
            if (reply.path("certificates").isEmpty()) System.out.println(name + ": no certificate");
            for (JsonNode c : reply.path("certificates")) {
                List<String> names = new ArrayList<>();
                c.path("names").forEach(n -> names.add(n.asText()));
                System.out.printf("%-6s  expires %s  %s%s%n", c.path("origin").asText(), c.path("notAfter").asText(),
                        String.join(", ", names), c.path("presented").asBoolean() ? "" : "  (not served)");
            }
            return 0;
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true,
            description = "Delete the tenant's certificates, or with --name only those naming HOST; their names get"
                    + " the tenant's other certificates, the platform's or the fallback.")
    public static final class Remove implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Parameters(paramLabel = "NAME", description = "the tenant")
        String name;

        @Option(names = "--name", paramLabel = "HOST",
                description = "remove only the certificates naming HOST as written (e.g. '*.example.com' for the"
                        + " wildcard); a certificate goes whole, with all its names")
        String host;

        @Override
        public Integer call() throws Exception {
            ObjectNode request = ControlRequests.request("cert-rm").put("name", name);
            if (host != null) request.put("host", host);
            return send(config, request, name + ": certificate removed");
        }
    }
}
