package dev.emperor.supervisor;

import dev.emperor.supervisor.ksm.HostKsm;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.emperor.supervisor.control.CheckText;
import dev.emperor.supervisor.control.ControlHandler;
import dev.emperor.supervisor.control.LogsText;
import dev.emperor.supervisor.lifecycle.ActionWait;
import dev.emperor.supervisor.config.DiskQuota;
import dev.emperor.supervisor.lifecycle.Vassal;
import dev.emperor.proxy.tls.CertificateRefused;
import dev.emperor.proxy.tls.PemBundle;
import dev.emperor.supervisor.domains.DomainOwnership;
import dev.emperor.supervisor.identity.Retention;
import dev.emperor.supervisor.state.DomainApproval;
import dev.emperor.supervisor.state.DomainClaim;
import dev.emperor.supervisor.state.EventKind;
import dev.emperor.supervisor.state.EventRow;
import dev.emperor.supervisor.web.TenantRoutes;
import java.io.IOException;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import dev.emperor.proxy.tls.CertificateStore;
import dev.emperor.supervisor.web.AcmeCertificates;

/**
 * What the control socket understands. Requests are {"cmd": ..., "name": ...}; every answer
 * has "ok" and, when false, an "error" a person can act on.
 */
final class ControlCommands implements ControlHandler {
    private static final ObjectMapper json = new ObjectMapper();
    /** The longest a control connection waits for an ACME issuance (the CA's steps time out sooner). */
    static final Duration MAX_WAIT = Duration.ofMinutes(10);
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
            case "start" -> act(name, Vassal::start, ActionWait.Goal.RUNNING, request);
            case "stop" -> act(name, Vassal::stop, ActionWait.Goal.STOPPED, request);
            case "reload" -> act(name, Vassal::reload, ActionWait.Goal.RESTARTED, request);
            case "events" -> events(name, request.path("limit").asInt(20));
            case "cert-put" -> certPut(name, request.path("pem").asText(""));
            case "cert-rm" -> certRemove(name, request.path("host").asText(null));
            case "cert-list" -> certList(name);
            case "cert-issue" -> certIssue(name, waitFor(request));
            case "cert-renew" -> certRenew(waitFor(request));
            case "maintenance" -> maintenance(name, request.path("on"));
            case "domain-list" -> domainList();
            case "domain-transfer" -> domainTransfer(request.path("domain").asText(null), request.path("from").asText(null),
                    request.path("to").asText(null));
            case "domain-approve" -> domainApprove(request.path("domain").asText(null), name, true);
            case "domain-revoke" -> domainApprove(request.path("domain").asText(null), name, false);
            case "purge" -> purge(name);
            case "logs" -> LogsText.reply(emperor.config().logDir(), name, request.path("lines").asInt(50));
            case "check" -> CheckText.reply(request);
            default -> error("unknown command '" + cmd + "' (expected ping, status, start, stop, reload, events,"
                    + " cert-put, cert-rm, cert-list, cert-issue, cert-renew, maintenance, domain-list, domain-transfer,"
                    + " domain-approve, domain-revoke, purge, logs, check)");
        };
    }

    private ObjectNode status(String name) {
        ObjectNode reply = ok();
        reply.put("watcher", emperor.watcherHealth());
        reply.put("statusDir", emperor.statusFiles().health());
        reply.set("ksmd", ksmd());
        reply.put("state", emperor.stateHealth());
        ArrayNode list = reply.putArray("vassals");
        ArrayNode retired = reply.putArray("retired");
        java.util.Map<String, java.time.Instant> retirements = emperor.retired();
        if (name != null) {
            Vassal vassal = emperor.find(name).orElse(null);
            if (vassal != null) {
                list.add(withWeb(vassal));
            } else if (retirements.containsKey(name)) {
                retired.add(retired(name, retirements.get(name)));
            } else {
                return unknown(name);
            }
        } else {
            for (Vassal vassal : emperor.all()) list.add(withWeb(vassal));
            retirements.forEach((n, at) -> {
                if (emperor.find(n).isEmpty()) retired.add(retired(n, at)); // a file just back counts as live
            });
        }
        return reply;
    }

    /** A retired tenant: when it goes, and what stays reserved for its name until then. */
    private ObjectNode retired(String name, java.time.Instant at) {
        ObjectNode node = json.createObjectNode().put("name", name).put("state", "retired");
        node.put("retiredAt", Retention.shown(at));
        node.put("expiresAt", Retention.shown(Retention.expiresAt(at, emperor.config().retain())));
        emperor.store().uids().of(name).ifPresentOrElse(uid -> node.put("uid", uid), () -> node.putNull("uid"));
        emperor.store().addresses().of(name).ifPresentOrElse(a -> node.put("address", dev.emperor.tunrouter.Cidr.format(a)),
                () -> node.putNull("address"));
        ArrayNode ports = node.putArray("ports");
        emperor.store().ports().ofTenant(name).forEach(p -> ports.add(p.publicPort()));
        ArrayNode domains = node.putArray("domains");
        emperor.routes().ownership().heldBy(name).forEach(domains::add);
        return node;
    }

    /** `emperor purge NAME`: only a retired tenant; a live one or an unknown name is an error naming it. */
    private ObjectNode purge(String name) {
        if (name == null) return error("purge needs a tenant name");
        if (!dev.emperor.supervisor.config.VassalFiles.isTenantName(name)) return error("bad tenant name '" + name + "'");
        try {
            return ok().put("purged", emperor.purge(name, "emperor purge"));
        } catch (TenantRetention.PurgeRefused e) {
            return error(e.getMessage());
        }
    }

    /** The vassal's status plus what the front proxy serves for it (also each status-dir file's content). */
    ObjectNode withWeb(Vassal vassal) {
        ObjectNode node = json.valueToTree(vassal.status());
        TenantRoutes routes = emperor.routes();
        String name = vassal.name();
        ArrayNode domains = node.putArray("domains");
        routes.domains(name).forEach(domains::add);
        node.put("maintenance", routes.inMaintenance(name));
        ArrayNode ports = node.putArray("ports");
        for (TenantRoutes.PublicPort p : routes.ports(name)) {
            ports.addObject().put("service", p.service()).put("protocol", p.protocol())
                    .put("internalPort", p.internalPort()).put("publicPort", p.publicPort())
                    .put("proxyProtocol", p.proxyProtocol());
        }
        List<TenantRoutes.Certificate> certs = routes.certificates(name);
        ArrayNode certArray = node.putArray("certificates");
        certs.forEach(c -> certArray.add(certificateJson(c)));
        // "certificate": the first of them, as before a tenant could have several (scripts read it)
        if (certs.isEmpty()) node.putNull("certificate");
        else node.set("certificate", certificateJson(certs.get(0)));
        ArrayNode problems = node.putArray("webProblems");
        routes.problems(name).forEach(problems::add);
        ArrayNode refused = node.putArray("refusedDomains");
        for (DomainOwnership.Refusal r : routes.refusedDomains(name)) {
            ObjectNode entry = refused.addObject().put("domain", r.name()).put("reason", r.reason());
            if (r.owner() != null) entry.put("owner", r.owner());
            else entry.putNull("owner");
        }
        node.set("disk", disk(vassal));
        node.set("webTraffic", webTraffic(name));
        node.set("ksm", ksm(name));
        return node;
    }

    /** `emperor domain list`: every held name with its owner and time of claim, and the approvals. */
    private ObjectNode domainList() {
        ObjectNode reply = ok();
        ArrayNode claims = reply.putArray("domains");
        for (DomainClaim c : emperor.routes().ownership().claims()) {
            claims.addObject().put("domain", c.name()).put("owner", c.owner()).put("claimedAt", c.claimedAt().toString());
        }
        ArrayNode approvals = reply.putArray("approvals");
        for (DomainApproval a : emperor.routes().ownership().approvals()) {
            approvals.addObject().put("domain", a.name()).put("tenant", a.tenant()).put("approvedAt", a.approvedAt().toString());
        }
        return reply;
    }

    private ObjectNode domainTransfer(String domain, String from, String to) {
        if (domain == null || from == null || to == null) return error("domain transfer needs NAME FROM TO");
        String problem = checkDomainArgument(domain);
        if (problem != null) return error(problem);
        if (emperor.find(to).isEmpty()) return unknown(to);
        try {
            List<String> moved = emperor.routes().transferDomain(domain, from, to);
            ObjectNode reply = ok();
            moved.forEach(reply.putArray("transferred")::add);
            return reply;
        } catch (DomainOwnership.Refused e) {
            return error(e.getMessage());
        }
    }

    private ObjectNode domainApprove(String domain, String tenant, boolean approve) {
        String verb = approve ? "approve" : "revoke";
        if (domain == null || tenant == null) return error("domain " + verb + " needs NAME TENANT");
        String problem = checkDomainArgument(domain);
        if (problem != null) return error(problem);
        if (!approve) {
            try {
                ObjectNode reply = ok();
                emperor.routes().revokeDomain(domain, tenant).forEach(reply.putArray("released")::add);
                return reply;
            } catch (DomainOwnership.Refused e) {
                return error(e.getMessage());
            }
        }
        if (!dev.emperor.supervisor.config.VassalFiles.isTenantName(tenant)) return error("bad tenant name '" + tenant + "'");
        emperor.routes().approveDomain(domain, tenant);
        return ok();
    }

    /** The operator's NAME, checked as a vassal's domain would be; null when fine. */
    private static String checkDomainArgument(String domain) {
        try {
            dev.emperor.supervisor.config.WebSite.parseDomain(domain);
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    /** The host's ksmd: its state, emperor.ini's ksm-run, and whether the emperor started it. */
    private ObjectNode ksmd() {
        HostKsm ksm = emperor.ksm();
        return json.createObjectNode().put("state", HostKsm.state()).put("ksmRun", ksm.mode().text())
                .put("startedByEmperor", ksm.changedByEmperor());
    }

    /**
     * Whether its file asks for ksm, its merged pages (null when unknown: a kernel before 6.1
     * has no /proc/PID/ksm_merging_pages), and a warning when it asks while ksmd is not running.
     */
    private ObjectNode ksm(String name) {
        boolean asked = emperor.ksm().asked(name);
        ObjectNode node = json.createObjectNode().put("asked", asked).put("ksmd", HostKsm.state());
        java.util.OptionalLong pages = HostKsm.mergingPages(emperor.tenantPids(name));
        if (pages.isPresent()) node.put("mergingPages", pages.getAsLong());
        else node.putNull("mergingPages");
        if (asked && !HostKsm.running()) {
            node.put("warning", "ksm = yes merges nothing: the host's ksmd is " + HostKsm.state() + " (" + HostKsm.RUN
                    + "); set ksm-run = auto or on in emperor.ini");
        } else {
            node.putNull("warning");
        }
        return node;
    }

    /** Its requests and bytes through the front proxy and its public ports, since counting began (stored). */
    private ObjectNode webTraffic(String name) {
        dev.emperor.proxy.TenantTraffic.Totals t = emperor.traffic(name);
        return json.createObjectNode().put("requests", t.requests()).put("webBytesIn", t.webBytesIn())
                .put("webBytesOut", t.webBytesOut()).put("portConnections", t.portConnections())
                .put("portBytesIn", t.portBytesIn()).put("portBytesOut", t.portBytesOut());
    }

    /** Its disk bound, and how full its image is while mounted (null otherwise; limits 0 = unlimited). */
    private ObjectNode disk(Vassal vassal) {
        DiskQuota quota = vassal.diskQuota();
        ObjectNode disk = json.createObjectNode().put("limit", quota.bytes()).put("inodesLimit", quota.inodes());
        emperor.launcher().diskUsage(vassal.name()).ifPresentOrElse(
                u -> disk.put("used", u.bytesUsed()).put("free", u.bytesFree())
                        .put("inodesUsed", u.inodesUsed()).put("inodesFree", u.inodesFree()),
                () -> disk.putNull("used").putNull("free").putNull("inodesUsed").putNull("inodesFree"));
        return disk;
    }

    private ObjectNode certificateJson(TenantRoutes.Certificate c) {
        ObjectNode cert = json.createObjectNode();
        ArrayNode names = cert.putArray("names");
        c.names().forEach(names::add);
        cert.put("notAfter", c.notAfter().toString());
        cert.put("origin", c.origin());
        cert.put("presented", c.presented());
        return cert;
    }

    /** `emperor cert list NAME`: each certificate with its names, expiry and origin. */
    private ObjectNode certList(String name) {
        if (name == null) return error("cert list needs a vassal name");
        if (emperor.find(name).isEmpty()) return unknown(name);
        ObjectNode reply = ok();
        ArrayNode list = reply.putArray("certificates");
        emperor.routes().certificates(name).forEach(c -> list.add(certificateJson(c)));
        return reply;
    }

    private ObjectNode certPut(String name, String base64) {
        if (name == null) return error("cert put needs a vassal name");
        Vassal vassal = emperor.find(name).orElse(null);
        if (vassal == null) return unknown(name);
        if (!emperor.routes().hasSite(name)) {
            return error("vassal '" + name + "' names no domain in its file; a certificate needs the tenant's domains");
        }
        if (emperor.routes().heldDomains(name).isEmpty()) {
            return error("vassal '" + name + "' holds none of the domains its file names (see `emperor status " + name
                    + "`); a certificate is only for names the tenant holds");
        }
        byte[] pem;
        try {
            pem = Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            return error("the certificate bundle was not sent as base64");
        }
        try {
            CertificateStore.Installed installed = emperor.routes().putCertificate(name, pem);
            PemBundle bundle = installed.bundle();
            emperor.store().events().record(name, EventKind.CONFIG, "certificate stored: " + bundle
                    + (installed.replaced().isEmpty() ? "" : ", replacing " + installed.replaced()));
            ObjectNode reply = ok().put("certificate", bundle.toString()).put("notAfter", bundle.notAfter().toString());
            ArrayNode replaced = reply.putArray("replaced");
            installed.replaced().forEach(r -> replaced.add(r.toString()));
            return reply;
        } catch (CertificateRefused e) {
            return error(e.getMessage());
        } catch (IOException e) {
            return error("cannot store the certificate: " + e.getMessage());
        }
    }

    /** How long the connection's thread waits for an issuance: the client's wish, within limits. */
    private static Duration waitFor(ObjectNode request) {
        long seconds = request.path("wait").asLong(MAX_WAIT.toSeconds());
        return Duration.ofSeconds(Math.max(1, Math.min(seconds, MAX_WAIT.toSeconds())));
    }

    /**
     * `emperor cert issue NAME`: the issuance runs on the ACME thread; this connection's own
     * (virtual) thread waits for it, so other clients are served meanwhile.
     */
    private ObjectNode certIssue(String name, Duration wait) {
        if (name == null) return error("cert issue needs a vassal name");
        if (emperor.config().proxy().acme().isEmpty()) {
            return error("ACME is not configured: set acme-directory (and acme-email) in emperor.ini, then SIGHUP the emperor");
        }
        Vassal vassal = emperor.find(name).orElse(null);
        if (vassal == null) return unknown(name);
        Future<PemBundle> issued = emperor.acme().issue(name);
        try {
            PemBundle bundle = issued.get(wait.toSeconds(), TimeUnit.SECONDS);
            return ok().put("certificate", bundle.toString()).put("notAfter", bundle.notAfter().toString());
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            return error(cause instanceof AcmeCertificates.NotIssued ? cause.getMessage()
                    : "ACME issuance failed: " + cause);
        } catch (TimeoutException e) {
            return error("no answer from the CA within " + wait.toSeconds() + "s; the issuance goes on and its result"
                    + " will be in `emperor events " + name + "`");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return error("interrupted");
        }
    }

    /** `emperor cert renew`: a renewal pass now; what it did, one line per tenant. */
    private ObjectNode certRenew(Duration wait) {
        try {
            AcmeCertificates.RenewalReport done = emperor.acme().renewNow().get(wait.toSeconds(), TimeUnit.SECONDS);
            ObjectNode reply = ok().put("failed", done.failed());
            done.lines().forEach(reply.putArray("renewals")::add);
            return reply;
        } catch (ExecutionException e) {
            return error("renewal pass failed: " + e.getCause());
        } catch (TimeoutException e) {
            return error("the renewal pass is still running after " + wait.toSeconds() + "s; see `emperor events NAME`");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return error("interrupted");
        }
    }

    private ObjectNode certRemove(String name, String host) {
        if (name == null) return error("cert rm needs a vassal name");
        // no check that the vassal exists: a removed tenant's certificates can still be deleted
        List<PemBundle> removed;
        try {
            removed = emperor.routes().removeCertificates(name, host);
        } catch (IOException e) {
            return error("cannot remove the certificate: " + e.getMessage());
        }
        if (removed.isEmpty()) {
            return error(host == null ? "vassal '" + name + "' has no certificate"
                    : "vassal '" + name + "' has no certificate naming " + host + " (names as written, e.g. '*.example.com';"
                    + " see `emperor cert list " + name + "`)");
        }
        if (emperor.find(name).isPresent()) emperor.store().events().record(name, EventKind.CONFIG, "certificate removed: " + removed);
        ObjectNode reply = ok();
        ArrayNode list = reply.putArray("removed");
        removed.forEach(r -> list.add(r.toString()));
        return reply;
    }

    private ObjectNode maintenance(String name, com.fasterxml.jackson.databind.JsonNode on) {
        if (name == null) return error("maintenance needs a vassal name");
        if (!on.isBoolean()) return error("maintenance needs on or off");
        Vassal vassal = emperor.find(name).orElse(null);
        if (vassal == null) return unknown(name);
        emperor.routes().setMaintenance(name, on.asBoolean());
        emperor.store().events().record(name, EventKind.CONFIG, "maintenance " + (on.asBoolean() ? "on" : "off") + " (operator)");
        return ok();
    }

    private ObjectNode events(String name, int limit) {
        if (name == null) return error("events needs a vassal name");
        List<EventRow> rows = emperor.store().events().newest(name, Math.max(1, Math.min(limit, 1000)));
        // A removed tenant's history is still shown; a name never seen is an error, not an empty list.
        if (rows.isEmpty() && emperor.find(name).isEmpty()) return unknown(name);
        ObjectNode reply = ok();
        ArrayNode list = reply.putArray("events");
        for (EventRow row : rows) {
            list.addObject().put("at", row.at().toString()).put("kind", row.kind().name().toLowerCase())
                    .put("detail", row.detail());
        }
        return reply;
    }

    /** start, stop, reload; with "wait": SECONDS, the answer comes once the action has had its effect (or failed). */
    private ObjectNode act(String name, java.util.function.Consumer<Vassal> action, ActionWait.Goal goal, ObjectNode request) {
        if (name == null) return error("a vassal name is required");
        Vassal vassal = emperor.find(name).orElse(null);
        if (vassal == null) return unknown(name);
        int pidBefore = vassal.progress().pid();
        action.accept(vassal);
        long wait = request.path("wait").asLong(0);
        if (wait <= 0) return ok();
        try {
            // this connection's own virtual thread waits; nothing else does
            ActionWait.Outcome outcome = ActionWait.await(vassal, goal, pidBefore,
                    Duration.ofSeconds(Math.min(wait, MAX_WAIT.toSeconds())));
            return outcome.reached() ? ok().put("state", outcome.detail()) : error(name + ": " + outcome.detail());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return error("interrupted while waiting");
        }
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
