package dev.emperor.supervisor.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** What `emperor status [NAME] [--json] [--retired]` prints for a status reply (see {@link CliText}). */
public final class StatusText {
    private static final ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private StatusText() {}

    /** The text for {@code reply}; {@code name} null for every tenant. */
    public static CliText render(ObjectNode reply, String name, boolean asJson, boolean onlyRetired) {
        if (!reply.path("ok").asBoolean()) return CliText.failure(reply);
        try {
            CliText.Out out = new CliText.Out();
            JsonNode vassals = reply.path("vassals");
            JsonNode retired = reply.path("retired");
            if (name != null && vassals.isEmpty()) {
                if (asJson) out.println(json.writeValueAsString(retired.get(0)));
                else printRetiredDetails(out, retired.get(0));
            } else if (asJson) {
                out.println(json.writeValueAsString(name != null ? vassals.get(0) : onlyRetired ? retired : vassals));
            } else if (name != null) {
                printDetails(out, vassals.get(0), reply.path("ksmd"));
            } else {
                if (!onlyRetired) printTable(out, vassals);
                printRetired(out, retired, onlyRetired);
                String watcher = reply.path("watcher").asText("ok");
                if (!watcher.equals("ok")) out.println("vassal directory watcher: " + watcher);
                String statusDir = reply.path("statusDir").asText("off");
                if (!statusDir.equals("off")) out.println("status-dir: " + statusDir);
                java.util.List<String> idle = new java.util.ArrayList<>();
                vassals.forEach(v -> {
                    if (v.path("ksm").hasNonNull("warning")) idle.add(v.path("name").asText());
                });
                if (!idle.isEmpty()) {
                    out.println("warning: ksm = yes in " + String.join(", ", idle) + " merges nothing: the host's ksmd is "
                            + reply.path("ksmd").path("state").asText() + " (set ksm-run = auto or on in emperor.ini)");
                }
                String state = reply.path("state").asText("ok");
                if (!state.equals("ok")) out.println("state: " + state);
            }
            return new CliText(0, out.toString(), "");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot print a status reply as JSON", e);
        }
    }

    /** Retired tenants, apart from the live ones: nothing of them runs, their name is still theirs. */
    private static void printRetired(CliText.Out out, JsonNode retired, boolean always) {
        if (retired.isEmpty()) {
            if (always) out.println("(no retired tenants)");
            return;
        }
        if (!always) out.println();
        out.println("Retired (file removed; identity and data kept for the name until purged):");
        String format = "%-20s %-21s %-21s %8s  %s%n";
        out.printf(format, "NAME", "RETIRED", "PURGED AT", "UID", "ADDRESS");
        for (JsonNode r : retired) {
            out.printf(format, r.path("name").asText(), r.path("retiredAt").asText(), r.path("expiresAt").asText(),
                    r.hasNonNull("uid") ? r.path("uid").asText() : "-", r.hasNonNull("address") ? r.path("address").asText() : "-");
        }
    }

    private static void printRetiredDetails(CliText.Out out, JsonNode r) {
        line(out, "name", r.path("name").asText());
        line(out, "state", "retired (vassal file removed; a file of this name before " + r.path("expiresAt").asText()
                + " is the same tenant)");
        line(out, "retired", r.path("retiredAt").asText());
        line(out, "purged at", r.path("expiresAt").asText() + " (or now: emperor purge " + r.path("name").asText() + ")");
        line(out, "uid", r.hasNonNull("uid") ? r.path("uid").asText() : "-");
        line(out, "address", r.hasNonNull("address") ? r.path("address").asText() : "-");
        java.util.List<String> ports = new java.util.ArrayList<>();
        r.path("ports").forEach(p -> ports.add(p.asText()));
        line(out, "ports", ports.isEmpty() ? "-" : String.join(", ", ports));
        java.util.List<String> domains = new java.util.ArrayList<>();
        r.path("domains").forEach(d -> domains.add(d.asText()));
        line(out, "domains", domains.isEmpty() ? "-" : String.join(", ", domains));
    }

    private static void printTable(CliText.Out out, JsonNode vassals) {
        String format = "%-20s %-12s %8s %10s %8s %9s %9s  %s%n";
        out.printf(format, "NAME", "STATE", "PID", "UPTIME", "RESTARTS", "MEMORY", "CPU", "LAST EXIT / ERROR");
        for (JsonNode v : vassals) {
            String note = !v.path("lastError").isNull() && v.hasNonNull("lastError") ? v.path("lastError").asText()
                    : v.path("lastExit").asText("");
            out.printf(format, v.path("name").asText(), v.path("state").asText(),
                    v.path("pid").asInt() == 0 ? "-" : v.path("pid").asText(),
                    v.path("pid").asInt() == 0 ? "-" : duration(v.path("uptimeSeconds").asLong()),
                    v.path("restarts").asText(), bytes(v.path("memoryBytes").asLong()),
                    cpu(v.path("cpuNanos").asLong()), note);
        }
        if (vassals.isEmpty()) out.println("(no vassals)");
    }

    private static void printDetails(CliText.Out out, JsonNode v, JsonNode ksmd) {
        line(out, "name", v.path("name").asText());
        line(out, "state", v.path("state").asText() + " (" + v.path("reason").asText() + ")");
        line(out, "pid", v.path("pid").asInt() == 0 ? "-" : v.path("pid").asText());
        line(out, "uptime", v.path("pid").asInt() == 0 ? "-" : duration(v.path("uptimeSeconds").asLong()));
        line(out, "restarts", v.path("restarts").asText());
        line(out, "last exit", v.path("lastExit").asText("-"));
        line(out, "last error", v.hasNonNull("lastError") ? v.path("lastError").asText() : "-");
        if (v.hasNonNull("logProblem") || v.path("logLinesDropped").asLong() > 0) {
            line(out, "log", (v.hasNonNull("logProblem") ? v.path("logProblem").asText() : "written again")
                    + "; " + v.path("logLinesDropped").asLong() + " lines dropped");
        }
        line(out, "memory", bytes(v.path("memoryBytes").asLong()));
        line(out, "cpu", cpu(v.path("cpuNanos").asLong()));
        line(out, "oom kills", v.path("oomKills").asText());
        line(out, "tasks", v.path("tasks").asText());
        line(out, "uid", v.path("uid").asInt() == 0 ? "-" : v.path("uid").asText());
        line(out, "disk", disk(v.path("disk")));
        line(out, "address", v.hasNonNull("address") ? v.path("address").asText() : "-");
        line(out, "network", "in " + v.path("packetsIn").asLong() + " packets (" + bytesOrZero(v.path("bytesIn").asLong())
                + "), out " + v.path("packetsOut").asLong() + " packets (" + bytesOrZero(v.path("bytesOut").asLong())
                + "), " + v.path("drops").asLong() + " dropped" + dropReasons(v.path("dropsByReason")));
        JsonNode web = v.path("webTraffic");
        // Exact numbers: hosts bill from these.
        line(out, "web", web.path("requests").asLong() + " requests, in " + web.path("webBytesIn").asLong()
                + " bytes, out " + web.path("webBytesOut").asLong() + " bytes");
        line(out, "ports", web.path("portConnections").asLong() + " connections, in "
                + web.path("portBytesIn").asLong() + " bytes, out " + web.path("portBytesOut").asLong() + " bytes");
        line(out, "ksm", ksm(v.path("ksm"), ksmd));
        if (!v.path("domains").isEmpty()) {
            java.util.List<String> names = new java.util.ArrayList<>();
            v.path("domains").forEach(d -> names.add(d.asText()));
            line(out, "domains", String.join(", ", names) + (v.path("maintenance").asBoolean() ? " (maintenance)" : ""));
        }
        for (JsonNode p : v.path("ports")) {
            line(out, "port", p.path("service").asText() + " " + p.path("protocol").asText() + " "
                    + p.path("internalPort").asText() + " -> public " + p.path("publicPort").asText()
                    + (p.path("proxyProtocol").asBoolean() ? " (proxy-protocol)" : ""));
        }
        for (JsonNode cert : v.path("certificates")) {
            java.util.List<String> names = new java.util.ArrayList<>();
            cert.path("names").forEach(d -> names.add(d.asText()));
            line(out, "cert", String.join(", ", names) + ", expires " + cert.path("notAfter").asText()
                    + " (" + cert.path("origin").asText() + (cert.path("presented").asBoolean(true) ? "" : ", not served") + ")");
        }
        for (JsonNode problem : v.path("webProblems")) line(out, "web error", problem.asText());
        line(out, "distro", v.path("distro").asText("-"));
        line(out, "file", v.path("file").asText("-"));
        if (v.path("retryInSeconds").asLong() > 0) line(out, "restart in", v.path("retryInSeconds").asText() + "s");
        for (JsonNode d : v.path("daemons")) {
            String state = d.path("pid").asInt() > 0
                    ? "pid " + d.path("pid").asText() + ", up " + duration(d.path("uptimeSeconds").asLong())
                    : d.path("retryInSeconds").asLong() > 0 ? "restart in " + d.path("retryInSeconds").asText() + "s"
                    : "not running";
            line(out, "daemon " + d.path("index").asText(), d.path("command").asText() + " (" + state + ", restarts "
                    + d.path("restarts").asText() + (d.hasNonNull("lastExit") ? ", last " + d.path("lastExit").asText() : "")
                    + ")");
        }
        for (JsonNode c : v.path("cron")) {
            line(out, "cron", c.path("line").asText() + " (next " + c.path("nextRun").asText("never")
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

    private static void line(CliText.Out out, String key, String value) {
        out.printf("%-11s %s%n", key + ":", value);
    }

    public static String duration(long seconds) {
        if (seconds < 60) return seconds + "s";
        if (seconds < 3600) return (seconds / 60) + "m" + (seconds % 60) + "s";
        if (seconds < 86400) return (seconds / 3600) + "h" + (seconds % 3600 / 60) + "m";
        return (seconds / 86400) + "d" + (seconds % 86400 / 3600) + "h";
    }

    public static String bytes(long n) {
        if (n <= 0) return "-";
        if (n < 1024 * 1024) return (n / 1024) + "K";
        if (n < 1024L * 1024 * 1024) return String.format(java.util.Locale.ROOT, "%.1fM", n / 1048576.0);
        return String.format(java.util.Locale.ROOT, "%.2fG", n / 1073741824.0);
    }

    private static String bytesOrZero(long n) {
        return n <= 0 ? "0" : n < 1024 ? n + "B" : bytes(n);
    }

    public static String cpu(long nanos) {
        return nanos <= 0 ? "-" : String.format(java.util.Locale.ROOT, "%.2fs", nanos / 1e9);
    }

    /** " (over-rate 12, queue-full 3)", or nothing when no packet was dropped. */
    private static String dropReasons(JsonNode byReason) {
        if (byReason.isEmpty()) return "";
        java.util.List<String> parts = new java.util.ArrayList<>();
        byReason.fields().forEachRemaining(e -> parts.add(e.getKey() + " " + e.getValue().asLong()));
        return " (" + String.join(", ", parts) + ")";
    }
}
