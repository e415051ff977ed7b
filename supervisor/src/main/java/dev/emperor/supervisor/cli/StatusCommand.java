package dev.emperor.supervisor.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.emperor.supervisor.control.ControlClient;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `emperor status [NAME] [--json]`. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = {"Show every tenant (or one): state, pid, uptime, restarts, memory, CPU, last exit and error.",
            "Retired tenants (vassal file removed; uid, address, ports, domains and data kept for their name) are listed"
                    + " apart, with when they are purged (emperor.ini `retain`; `emperor purge NAME` does it now)."})
public final class StatusCommand implements Callable<Integer> {
    private static final ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Mixin
    ConfigOption config;

    @Parameters(arity = "0..1", paramLabel = "NAME", description = "only this tenant, with details")
    String name;

    @Option(names = "--json", description = "print JSON instead of a table")
    boolean asJson;

    @Option(names = "--retired", description = "only the retired tenants")
    boolean onlyRetired;

    @Override
    public Integer call() throws Exception {
        ObjectNode request = json.createObjectNode().put("cmd", "status");
        if (name != null) request.put("name", name);
        ObjectNode reply = ControlClient.call(config.load().controlSocket(), request);
        if (!reply.path("ok").asBoolean()) {
            System.err.println("emperor: " + reply.path("error").asText());
            return 1;
        }
        JsonNode vassals = reply.path("vassals");
        JsonNode retired = reply.path("retired");
        if (name != null && vassals.isEmpty()) {
            if (asJson) System.out.println(json.writeValueAsString(retired.get(0)));
            else printRetiredDetails(retired.get(0));
        } else if (asJson) {
            System.out.println(json.writeValueAsString(name != null ? vassals.get(0) : onlyRetired ? retired : vassals));
        } else if (name != null) {
            printDetails(vassals.get(0), reply.path("ksmd"));
        } else {
            if (!onlyRetired) printTable(vassals);
            printRetired(retired, onlyRetired);
            String watcher = reply.path("watcher").asText("ok");
            if (!watcher.equals("ok")) System.out.println("vassal directory watcher: " + watcher);
            String statusDir = reply.path("statusDir").asText("off");
            if (!statusDir.equals("off")) System.out.println("status-dir: " + statusDir);
            java.util.List<String> idle = new java.util.ArrayList<>();
            vassals.forEach(v -> {
                if (v.path("ksm").hasNonNull("warning")) idle.add(v.path("name").asText());
            });
            if (!idle.isEmpty()) {
                System.out.println("warning: ksm = yes in " + String.join(", ", idle) + " merges nothing: the host's ksmd is "
                        + reply.path("ksmd").path("state").asText() + " (set ksm-run = auto or on in emperor.ini)");
            }
            String state = reply.path("state").asText("ok");
            if (!state.equals("ok")) System.out.println("state: " + state);
        }
        return 0;
    }

    /** Retired tenants, apart from the live ones: nothing of them runs, their name is still theirs. */
    private static void printRetired(JsonNode retired, boolean always) {
        if (retired.isEmpty()) {
            if (always) System.out.println("(no retired tenants)");
            return;
        }
        if (!always) System.out.println();
        System.out.println("Retired (file removed; identity and data kept for the name until purged):");
        String format = "%-20s %-21s %-21s %8s  %s%n";
        System.out.printf(format, "NAME", "RETIRED", "PURGED AT", "UID", "ADDRESS");
        for (JsonNode r : retired) {
            System.out.printf(format, r.path("name").asText(), r.path("retiredAt").asText(), r.path("expiresAt").asText(),
                    r.hasNonNull("uid") ? r.path("uid").asText() : "-", r.hasNonNull("address") ? r.path("address").asText() : "-");
        }
    }

    private static void printRetiredDetails(JsonNode r) {
        line("name", r.path("name").asText());
        line("state", "retired (vassal file removed; a file of this name before " + r.path("expiresAt").asText()
                + " is the same tenant)");
        line("retired", r.path("retiredAt").asText());
        line("purged at", r.path("expiresAt").asText() + " (or now: emperor purge " + r.path("name").asText() + ")");
        line("uid", r.hasNonNull("uid") ? r.path("uid").asText() : "-");
        line("address", r.hasNonNull("address") ? r.path("address").asText() : "-");
        java.util.List<String> ports = new java.util.ArrayList<>();
        r.path("ports").forEach(p -> ports.add(p.asText()));
        line("ports", ports.isEmpty() ? "-" : String.join(", ", ports));
        java.util.List<String> domains = new java.util.ArrayList<>();
        r.path("domains").forEach(d -> domains.add(d.asText()));
        line("domains", domains.isEmpty() ? "-" : String.join(", ", domains));
    }

    private static void printTable(JsonNode vassals) {
        String format = "%-20s %-12s %8s %10s %8s %9s %9s  %s%n";
        System.out.printf(format, "NAME", "STATE", "PID", "UPTIME", "RESTARTS", "MEMORY", "CPU", "LAST EXIT / ERROR");
        for (JsonNode v : vassals) {
            String note = !v.path("lastError").isNull() && v.hasNonNull("lastError") ? v.path("lastError").asText()
                    : v.path("lastExit").asText("");
            System.out.printf(format, v.path("name").asText(), v.path("state").asText(),
                    v.path("pid").asInt() == 0 ? "-" : v.path("pid").asText(),
                    v.path("pid").asInt() == 0 ? "-" : duration(v.path("uptimeSeconds").asLong()),
                    v.path("restarts").asText(), bytes(v.path("memoryBytes").asLong()),
                    cpu(v.path("cpuNanos").asLong()), note);
        }
        if (vassals.isEmpty()) System.out.println("(no vassals)");
    }

    private static void printDetails(JsonNode v, JsonNode ksmd) {
        line("name", v.path("name").asText());
        line("state", v.path("state").asText() + " (" + v.path("reason").asText() + ")");
        line("pid", v.path("pid").asInt() == 0 ? "-" : v.path("pid").asText());
        line("uptime", v.path("pid").asInt() == 0 ? "-" : duration(v.path("uptimeSeconds").asLong()));
        line("restarts", v.path("restarts").asText());
        line("last exit", v.path("lastExit").asText("-"));
        line("last error", v.hasNonNull("lastError") ? v.path("lastError").asText() : "-");
        if (v.hasNonNull("logProblem") || v.path("logLinesDropped").asLong() > 0) {
            line("log", (v.hasNonNull("logProblem") ? v.path("logProblem").asText() : "written again")
                    + "; " + v.path("logLinesDropped").asLong() + " lines dropped");
        }
        line("memory", bytes(v.path("memoryBytes").asLong()));
        line("cpu", cpu(v.path("cpuNanos").asLong()));
        line("oom kills", v.path("oomKills").asText());
        line("tasks", v.path("tasks").asText());
        line("uid", v.path("uid").asInt() == 0 ? "-" : v.path("uid").asText());
        line("disk", disk(v.path("disk")));
        line("address", v.hasNonNull("address") ? v.path("address").asText() : "-");
        line("network", "in " + v.path("packetsIn").asLong() + " packets (" + bytesOrZero(v.path("bytesIn").asLong())
                + "), out " + v.path("packetsOut").asLong() + " packets (" + bytesOrZero(v.path("bytesOut").asLong())
                + "), " + v.path("drops").asLong() + " dropped" + dropReasons(v.path("dropsByReason")));
        JsonNode web = v.path("webTraffic");
        // Exact numbers: hosts bill from these.
        line("web", web.path("requests").asLong() + " requests, in " + web.path("webBytesIn").asLong()
                + " bytes, out " + web.path("webBytesOut").asLong() + " bytes");
        line("ports", web.path("portConnections").asLong() + " connections, in "
                + web.path("portBytesIn").asLong() + " bytes, out " + web.path("portBytesOut").asLong() + " bytes");
        line("ksm", ksm(v.path("ksm"), ksmd));
        if (!v.path("domains").isEmpty()) {
            java.util.List<String> names = new java.util.ArrayList<>();
            v.path("domains").forEach(d -> names.add(d.asText()));
            line("domains", String.join(", ", names) + (v.path("maintenance").asBoolean() ? " (maintenance)" : ""));
        }
        for (JsonNode p : v.path("ports")) {
            line("port", p.path("service").asText() + " " + p.path("protocol").asText() + " "
                    + p.path("internalPort").asText() + " -> public " + p.path("publicPort").asText()
                    + (p.path("proxyProtocol").asBoolean() ? " (proxy-protocol)" : ""));
        }
        for (JsonNode cert : v.path("certificates")) {
            java.util.List<String> names = new java.util.ArrayList<>();
            cert.path("names").forEach(d -> names.add(d.asText()));
            line("cert", String.join(", ", names) + ", expires " + cert.path("notAfter").asText()
                    + " (" + cert.path("origin").asText() + (cert.path("presented").asBoolean(true) ? "" : ", not served") + ")");
        }
        for (JsonNode problem : v.path("webProblems")) line("web error", problem.asText());
        line("distro", v.path("distro").asText("-"));
        line("file", v.path("file").asText("-"));
        if (v.path("retryInSeconds").asLong() > 0) line("restart in", v.path("retryInSeconds").asText() + "s");
        for (JsonNode d : v.path("daemons")) {
            String state = d.path("pid").asInt() > 0
                    ? "pid " + d.path("pid").asText() + ", up " + duration(d.path("uptimeSeconds").asLong())
                    : d.path("retryInSeconds").asLong() > 0 ? "restart in " + d.path("retryInSeconds").asText() + "s"
                    : "not running";
            line("daemon " + d.path("index").asText(), d.path("command").asText() + " (" + state + ", restarts "
                    + d.path("restarts").asText() + (d.hasNonNull("lastExit") ? ", last " + d.path("lastExit").asText() : "")
                    + ")");
        }
        for (JsonNode c : v.path("cron")) {
            line("cron", c.path("line").asText() + " (next " + c.path("nextRun").asText("never")
                    + (c.path("pid").asInt() > 0 ? ", running pid " + c.path("pid").asText() : "")
                    + ", runs " + c.path("runs").asText() + ", skipped " + c.path("skipped").asText()
                    + (c.hasNonNull("lastResult") ? ", last " + c.path("lastResult").asText() : "") + ")");
        }
    }

    /** "1.2M used, 10.3M free of disk = 16.0M; 15 inodes used, 2033 free of 2048", or "unlimited". */
    private static String disk(JsonNode d) {
        if (d.path("limit").asLong() <= 0) return "unlimited";
        String limits = "disk = " + bytes(d.path("limit").asLong()) + ", inodes = " + d.path("inodesLimit").asText();
        if (!d.hasNonNull("used")) return limits + " (not mounted)";
        return bytesOrZero(d.path("used").asLong()) + " used, " + bytesOrZero(d.path("free").asLong()) + " free; "
                + d.path("inodesUsed").asText() + " inodes used, " + d.path("inodesFree").asText() + " free (" + limits + ")";
    }

    /** "asked, 1234 pages merged (ksmd on)", the pages "unknown" before Linux 6.1, or the warning. */
    private static String ksm(JsonNode k, JsonNode ksmd) {
        String pages = k.hasNonNull("mergingPages") ? k.path("mergingPages").asText() : "unknown";
        String text = (k.path("asked").asBoolean() ? "asked" : "not asked") + ", " + pages + " pages merged (ksmd "
                + ksmd.path("state").asText() + ", ksm-run = " + ksmd.path("ksmRun").asText() + ")";
        return k.hasNonNull("warning") ? text + "; warning: " + k.path("warning").asText() : text;
    }

    private static void line(String key, String value) {
        System.out.printf("%-11s %s%n", key + ":", value);
    }

    static String duration(long seconds) {
        if (seconds < 60) return seconds + "s";
        if (seconds < 3600) return (seconds / 60) + "m" + (seconds % 60) + "s";
        if (seconds < 86400) return (seconds / 3600) + "h" + (seconds % 3600 / 60) + "m";
        return (seconds / 86400) + "d" + (seconds % 86400 / 3600) + "h";
    }

    static String bytes(long n) {
        if (n <= 0) return "-";
        if (n < 1024 * 1024) return (n / 1024) + "K";
        if (n < 1024L * 1024 * 1024) return String.format("%.1fM", n / 1048576.0);
        return String.format("%.2fG", n / 1073741824.0);
    }

    private static String bytesOrZero(long n) {
        return n <= 0 ? "0" : n < 1024 ? n + "B" : bytes(n);
    }

    static String cpu(long nanos) {
        return nanos <= 0 ? "-" : String.format("%.2fs", nanos / 1e9);
    }

    /** " (over-rate 12, queue-full 3)", or nothing when no packet was dropped. */
    private static String dropReasons(JsonNode byReason) {
        if (byReason.isEmpty()) return "";
        java.util.List<String> parts = new java.util.ArrayList<>();
        byReason.fields().forEachRemaining(e -> parts.add(e.getKey() + " " + e.getValue().asLong()));
        return " (" + String.join(", ", parts) + ")";
    }
}
