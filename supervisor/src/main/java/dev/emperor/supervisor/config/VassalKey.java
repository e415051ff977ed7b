package dev.emperor.supervisor.config;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The vassal file schema, in one place: every key a vassal file may hold, whether it may
 * repeat, what JSON value it takes, its default and what it means. The INI and the JSON
 * readers both check against it, and vassals/README.md carries {@link #referenceTable()}
 * (a test keeps the two identical).
 */
public enum VassalKey {
    EXEC("exec", Arity.ONCE, JsonType.STRING, "(required)",
            "Main command, split into words like a shell does (quotes, backslashes); no variables, no globbing."),
    ENV("env", Arity.REPEATED, JsonType.STRING, "none",
            "`KEY=VALUE` added to the command's environment; KEY matches `[A-Za-z_][A-Za-z0-9_]*`."),
    USER("user", Arity.ONCE, JsonType.STRING, "none",
            "Host account whose uid and gid the tenant runs as (uid >= 1000). Not together with uid/gid."),
    UID("uid", Arity.ONCE, JsonType.NUMBER, "from emperor.ini `uid-range`",
            "Numeric uid, 1000 to 2147483647 (65534 `nobody` refused)."),
    GID("gid", Arity.ONCE, JsonType.NUMBER, "the uid",
            "Numeric primary gid, same range; needs `uid`."),
    DISTRO("distro", Arity.ONCE, JsonType.STRING, "bookworm",
            "Read-only root from the distro store; must exist there. Name matches `[a-z0-9][a-z0-9._-]*`."),
    HOSTNAME("hostname", Arity.ONCE, JsonType.STRING, "the tenant name, `_` as `-`",
            "Hostname in the tenant's own UTS namespace; one RFC 1123 label, at most 63 characters."),
    MEMORY("memory", Arity.ONCE, JsonType.NUMBER, "no limit",
            "Memory limit (size: `256M`, `1G`; a bare number is bytes); at least 4M. Swap is off when set."),
    CPU("cpu", Arity.ONCE, JsonType.NUMBER, "no limit",
            "CPU quota in percent of one core (`50%` = half a core, `200` = two cores), 1 to 10000."),
    PIDS("pids", Arity.ONCE, JsonType.NUMBER, "4096",
            "Most processes and threads at once, 1 to 1000000."),
    TMP_SIZE("tmp-size", Arity.ONCE, JsonType.NUMBER, "from emperor.ini `tmp-size` (64M)",
            "Size of the private /tmp (tmpfs); at least 1M."),
    DISK("disk", Arity.ONCE, JsonType.NUMBER, "from emperor.ini `disk-default` (1G)",
            "Disk space for the home and /run together (one filesystem image): a size from 16M, or `unlimited` (plain host directories, no bound). Over it the tenant's writes fail with ENOSPC."),
    INODES("inodes", Arity.ONCE, JsonType.NUMBER, "from emperor.ini `inodes-default` (65536), at most one per 4K of `disk`",
            "Files and directories the home and /run may hold together, 64 to one per 4K of `disk`; needs a `disk` image."),
    CWD("cwd", Arity.ONCE, JsonType.STRING, "the home",
            "Working directory of the command: absolute path inside the tenant, no `.` or `..`."),
    HOME("home", Arity.ONCE, JsonType.STRING, "/home/NAME",
            "Writable home inside the tenant: absolute path under /home, no `.` or `..`."),
    BIND("bind", Arity.REPEATED, JsonType.STRING, "none",
            "Extra mount `SRC:DST` (read-only), `SRC:DST:ro` or `SRC:DST:rw`; SRC an existing absolute host path, DST absolute in the tenant."),
    SECCOMP_ALLOW("seccomp-allow", Arity.REPEATED, JsonType.STRING, "none",
            "Syscalls of the default deny list to allow anyway (names, space or comma separated)."),
    KSM("ksm", Arity.ONCE, JsonType.BOOLEAN, "false",
            "Let the kernel merge identical memory pages (`true/false`, `yes/no`, `on/off`, `1/0`)."),
    FIREWALL_OUT("firewall-out", Arity.REPEATED, JsonType.STRING, "none",
            "The tenant's own rule for packets it sends, in emperor.ini's `tuntap-router-firewall-out` syntax (`allow SRC DST` or `deny SRC DST`, optionally `proto P` and `port N`); read in order after Emperor's built-in denials and before emperor.ini's rules. Changed without a restart."),
    FIREWALL_IN("firewall-in", Arity.REPEATED, JsonType.STRING, "none",
            "The same for packets sent to the tenant."),
    NET_RATE("net-rate", Arity.ONCE, JsonType.NUMBER, "no limit",
            "Most bytes per second through the tun router, each way (size: `10M` = 10 MiB/s; a bare number is bytes/s); at least 1K. Over it, packets out wait in the tenant's own tun0 (its kernel drops them when that is full) and packets in are dropped and counted. Changed without a restart."),
    DOMAIN("domain", Arity.REPEATED, JsonType.STRING, "none",
            "Host name the front proxy routes to this tenant (HTTP Host, TLS SNI), ASCII (`xn--` form for international names); `*.example.com` matches every name below example.com. A name belongs to the tenant that claimed it first."),
    UPSTREAM("upstream", Arity.ONCE, JsonType.STRING, "`/run/app.sock`",
            "Where the proxy sends the site's requests: a unix socket directly in the tenant's /run (`/run/app.sock`) or a port on the tenant's own address (`:8080`)."),
    MAINTENANCE("maintenance", Arity.ONCE, JsonType.BOOLEAN, "false",
            "Answer with 503 and Retry-After (a maintenance page, or `maintenance-upstream`) instead of the app; `emperor maintenance NAME on` overrides it."),
    MAINTENANCE_UPSTREAM("maintenance-upstream", Arity.ONCE, JsonType.STRING, "Emperor's page",
            "A backend (same forms as `upstream`) that answers during maintenance."),
    HTTPS_REDIRECT("https-redirect", Arity.ONCE, JsonType.BOOLEAN, "false",
            "Answer plain HTTP requests with a 308 redirect to the same https:// URL."),
    MAX_BODY("max-body", Arity.ONCE, JsonType.NUMBER, "10M",
            "Largest request body the proxy forwards (size); a larger one gets 413."),
    MAX_CONNECTIONS("max-connections", Arity.ONCE, JsonType.NUMBER, "512",
            "Most client connections to the site at once, 1 to 1000000; more get 503. One client address gets at most half of them (and at most emperor.ini's `client-max-connections-per-site`); its next request gets 429."),
    CRON("cron", Arity.REPEATED, JsonType.STRING, "none",
            "A job run inside the tenant, as the tenant, output to its log: `MIN HOUR MDAY MONTH WDAY COMMAND` in uWSGI's form (`-1` = any, `-N` = every N) or crontab's (`*`, lists, ranges, steps, names), or `@daily COMMAND` etc.; see Cron jobs below."),
    CRON_TIMEOUT("cron-timeout", Arity.ONCE, JsonType.STRING, "1h",
            "Longest run of each cron job (duration, at least 1s); a longer run gets SIGTERM, then SIGKILL after `stop-grace`."),
    DAEMON("daemon", Arity.REPEATED, JsonType.STRING, "none",
            "A helper command (redis, memcached...) kept running inside the tenant next to `exec`, split like `exec`; restarted with back-off, stopped with the tenant."),
    PORT("port", Arity.REPEATED, JsonType.STRING, "none",
            "Service on a public port: `NAME PROTO INTERNAL_PORT [proxy-protocol]`, e.g. `db tcp 5432`; NAME `[a-z][a-z0-9-]{0,31}`, unique; PROTO `tcp` or `tls` (passthrough, only for the domains the vassal holds, by SNI); INTERNAL_PORT 1-65535; `proxy-protocol`: each connection starts with a PROXY protocol v2 header giving the client's address and port. The public port is allocated once and kept.");

    /** Whether a key may be given more than once (INI: repeated lines; JSON: an array). */
    public enum Arity { ONCE, REPEATED }

    /** The JSON value a key takes besides a string (a string is always accepted). */
    public enum JsonType { STRING, NUMBER, BOOLEAN }

    private final String key;
    private final Arity arity;
    private final JsonType jsonType;
    private final String defaultText;
    private final String doc;

    VassalKey(String key, Arity arity, JsonType jsonType, String defaultText, String doc) {
        this.key = key;
        this.arity = arity;
        this.jsonType = jsonType;
        this.defaultText = defaultText;
        this.doc = doc;
    }

    /** The key as written in files, e.g. "tmp-size". */
    public String key() {
        return key;
    }

    public boolean repeatable() {
        return arity == Arity.REPEATED;
    }

    public JsonType jsonType() {
        return jsonType;
    }

    public String defaultText() {
        return defaultText;
    }

    public String doc() {
        return doc;
    }

    public static Optional<VassalKey> byKey(String key) {
        for (VassalKey k : values()) {
            if (k.key.equals(key)) {
                return Optional.of(k);
            }
        }
        return Optional.empty();
    }

    /** All keys as written in files, in schema order. */
    public static List<String> keys() {
        return Arrays.stream(values()).map(VassalKey::key).toList();
    }

    /** The Markdown table of all keys that vassals/README.md must contain verbatim. */
    public static String referenceTable() {
        StringBuilder table = new StringBuilder()
                .append("| key | repeatable | JSON value | default | meaning |\n")
                .append("|-----|------------|------------|---------|---------|\n");
        for (VassalKey k : values()) {
            table.append("| `").append(k.key).append("` | ")
                    .append(k.repeatable() ? "yes" : "no").append(" | ")
                    .append(switch (k.jsonType) {
                        case STRING -> k.repeatable() ? "string or array of strings" : "string";
                        case NUMBER -> "number or string";
                        case BOOLEAN -> "boolean or string";
                    }).append(" | ")
                    .append(k.defaultText).append(" | ")
                    .append(k.doc).append(" |\n");
        }
        return table.toString();
    }
}
