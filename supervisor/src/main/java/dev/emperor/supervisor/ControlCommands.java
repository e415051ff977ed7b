package dev.emperor.supervisor;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.emperor.supervisor.control.ControlHandler;
import dev.emperor.supervisor.lifecycle.Vassal;
import dev.emperor.proxy.tls.CertificateRefused;
import dev.emperor.proxy.tls.PemBundle;
import dev.emperor.supervisor.state.EventKind;
import dev.emperor.supervisor.state.EventRow;
import dev.emperor.supervisor.web.TenantRoutes;
import java.io.IOException;
import java.util.Base64;

/**
 * What the control socket understands. Requests are {"cmd": ..., "name": ...}; every answer
 * has "ok" and, when false, an "error" a person can act on.
 */
final class ControlCommands implements ControlHandler {
    private static final ObjectMapper json = new ObjectMapper();
    private final Emperor emperor;

    ControlCommands(Emperor emperor) {
        this.emperor = emperor;
    }

    @Override
    public ObjectNode handle(ObjectNode request) {
        String cmd = request.path("cmd").asText("");
        String name = request.path("name").asText(null);
        return switch (cmd) {
            case "ping" -> ok();
            case "status" -> status(name);
            case "start" -> act(name, Vassal::start);
            case "stop" -> act(name, Vassal::stop);
            case "reload" -> act(name, Vassal::reload);
            case "events" -> events(name, request.path("limit").asInt(20));
            case "cert-put" -> certPut(name, request.path("pem").asText(""));
            case "cert-rm" -> certRemove(name);
            case "maintenance" -> maintenance(name, request.path("on"));
            default -> error("unknown command '" + cmd + "' (expected ping, status, start, stop, reload, events,"
                    + " cert-put, cert-rm, maintenance)");
        };
    }

    private ObjectNode status(String name) {
        ObjectNode reply = ok();
        ArrayNode list = reply.putArray("vassals");
        if (name != null) {
            Vassal vassal = emperor.find(name).orElse(null);
            if (vassal == null) return unknown(name);
            list.add(withWeb(vassal));
        } else {
            for (Vassal vassal : emperor.all()) list.add(withWeb(vassal));
        }
        return reply;
    }

    /** The vassal's status plus what the front proxy serves for it. */
    private ObjectNode withWeb(Vassal vassal) {
        ObjectNode node = json.valueToTree(vassal.status());
        TenantRoutes routes = emperor.routes();
        String name = vassal.name();
        ArrayNode domains = node.putArray("domains");
        routes.domains(name).forEach(domains::add);
        node.put("maintenance", routes.inMaintenance(name));
        ArrayNode ports = node.putArray("ports");
        for (TenantRoutes.PublicPort p : routes.ports(name)) {
            ports.addObject().put("service", p.service()).put("protocol", p.protocol())
                    .put("internalPort", p.internalPort()).put("publicPort", p.publicPort());
        }
        routes.certificate(name).ifPresentOrElse(c -> {
            ObjectNode cert = node.putObject("certificate");
            cert.put("notAfter", c.notAfter().toString());
            c.names().forEach(cert.putArray("names")::add);
        }, () -> node.putNull("certificate"));
        ArrayNode problems = node.putArray("webProblems");
        routes.problems(name).forEach(problems::add);
        return node;
    }

    private ObjectNode certPut(String name, String base64) {
        if (name == null) return error("cert put needs a vassal name");
        Vassal vassal = emperor.find(name).orElse(null);
        if (vassal == null) return unknown(name);
        if (!emperor.routes().hasSite(name)) {
            return error("vassal '" + name + "' names no domain in its file; a certificate needs the tenant's domains");
        }
        byte[] pem;
        try {
            pem = Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            return error("the certificate bundle was not sent as base64");
        }
        try {
            PemBundle bundle = emperor.routes().putCertificate(name, pem);
            emperor.store().event(name, EventKind.CONFIG, "certificate stored: " + bundle);
            return ok().put("certificate", bundle.toString()).put("notAfter", bundle.notAfter().toString());
        } catch (CertificateRefused e) {
            return error(e.getMessage());
        } catch (IOException e) {
            return error("cannot store the certificate: " + e.getMessage());
        }
    }

    private ObjectNode certRemove(String name) {
        if (name == null) return error("cert rm needs a vassal name");
        try {
            if (!emperor.routes().removeCertificate(name)) return error("vassal '" + name + "' has no certificate");
        } catch (IOException e) {
            return error("cannot remove the certificate: " + e.getMessage());
        }
        return ok();
    }

    private ObjectNode maintenance(String name, com.fasterxml.jackson.databind.JsonNode on) {
        if (name == null) return error("maintenance needs a vassal name");
        if (!on.isBoolean()) return error("maintenance needs on or off");
        Vassal vassal = emperor.find(name).orElse(null);
        if (vassal == null) return unknown(name);
        emperor.routes().setMaintenance(name, on.asBoolean());
        emperor.store().event(name, EventKind.CONFIG, "maintenance " + (on.asBoolean() ? "on" : "off") + " (operator)");
        return ok();
    }

    private ObjectNode events(String name, int limit) {
        if (name == null) return error("events needs a vassal name");
        ObjectNode reply = ok();
        ArrayNode list = reply.putArray("events");
        for (EventRow row : emperor.store().events(name, Math.max(1, Math.min(limit, 1000)))) {
            list.addObject().put("at", row.at().toString()).put("kind", row.kind().name().toLowerCase())
                    .put("detail", row.detail());
        }
        return reply;
    }

    private ObjectNode act(String name, java.util.function.Consumer<Vassal> action) {
        if (name == null) return error("a vassal name is required");
        Vassal vassal = emperor.find(name).orElse(null);
        if (vassal == null) return unknown(name);
        action.accept(vassal);
        return ok();
    }

    private ObjectNode unknown(String name) {
        return error("no vassal named '" + name + "' (is its file in " + emperor.config().vassalsDir() + "?)");
    }

    private static ObjectNode ok() {
        return json.createObjectNode().put("ok", true);
    }

    private static ObjectNode error(String message) {
        return json.createObjectNode().put("ok", false).put("error", message);
    }
}
