package dev.emperor.supervisor.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.emperor.supervisor.control.ControlClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** `emperor cert put NAME FILE.pem` and `emperor cert rm NAME`: a tenant's TLS certificate. */
@Command(name = "cert", mixinStandardHelpOptions = true,
        description = "Give a tenant its own TLS certificate, or take it away.",
        subcommands = {CertCommand.Put.class, CertCommand.Remove.class})
public final class CertCommand implements Runnable {
    @Override
    public void run() {
        System.err.println("emperor cert: use `emperor cert put NAME FILE.pem` or `emperor cert rm NAME`");
    }

    private static int send(ConfigOption config, ObjectNode request, String done) throws Exception {
        ObjectNode reply = ControlClient.call(config.load().controlSocket(), request);
        if (!reply.path("ok").asBoolean()) {
            System.err.println("emperor: " + reply.path("error").asText());
            return 1;
        }
        System.out.println(done + (reply.has("certificate") ? ": " + reply.path("certificate").asText() : ""));
        return 0;
    }

    @Command(name = "put", mixinStandardHelpOptions = true,
            description = "Check a PEM bundle (private key and certificate chain, any order) against the tenant's"
                    + " domains and serve it from the next handshake on. A refused bundle changes nothing.")
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
            ObjectNode request = new ObjectMapper().createObjectNode().put("cmd", "cert-put").put("name", name)
                    .put("pem", Base64.getEncoder().encodeToString(pem));
            return send(config, request, name + ": certificate stored");
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true,
            description = "Delete the tenant's certificate; its names get the platform or fallback certificate.")
    public static final class Remove implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Parameters(paramLabel = "NAME", description = "the tenant")
        String name;

        @Override
        public Integer call() throws Exception {
            return send(config, new ObjectMapper().createObjectNode().put("cmd", "cert-rm").put("name", name),
                    name + ": certificate removed");
        }
    }
}
