package dev.emperor.supervisor.config;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The vassal file schema, in one place: every key a vassal file may hold, whether it may
 * repeat, what kind of value it takes, its default and what it means. The default is typed
 * ({@link #defaultBytes()}, {@link #defaultNumber()}...): the validator starts every vassal
 * from these, so the documented default is the one that applies. The INI and the JSON
 * readers both check against it, and vassals/README.md carries {@link #referenceTable()}
 * (a test keeps the two identical).
 */
public enum VassalKey {
    EXEC("exec", Arity.ONCE, Kind.TEXT, Default.REQUIRED,
            "Main command, split into words like a shell does (quotes, backslashes); no variables, no globbing."),
    ENV("env", Arity.REPEATED, Kind.TEXT, Default.NONE,
            "`KEY=VALUE` added to the command's environment; KEY matches `[A-Za-z_][A-Za-z0-9_]*`."),
    USER("user", Arity.ONCE, Kind.TEXT, Default.NONE,
            "Host account whose uid and gid the tenant runs as (uid >= 1000). Not together with uid/gid."),
    UID("uid", Arity.ONCE, Kind.COUNT, Default.derived("from emperor.ini `uid-range`"),
            "Numeric uid, 1000 to 2147483647 (65534 `nobody` refused)."),
    GID("gid", Arity.ONCE, Kind.COUNT, Default.derived("the uid"),
            "Numeric primary gid, same range; needs `uid`."),
    DISTRO("distro", Arity.ONCE, Kind.TEXT, Default.fixed("bookworm"),
            "Read-only root from the distro store; must exist there. Name matches `[a-z0-9][a-z0-9._-]*`."),
    HOSTNAME("hostname", Arity.ONCE, Kind.TEXT, Default.derived("the tenant name, `_` as `-`"),
            "Hostname in the tenant's own UTS namespace; one RFC 1123 label, at most 63 characters."),
    MEMORY("memory", Arity.ONCE, Kind.SIZE, Default.NO_LIMIT,
            "Memory limit (size: `256M`, `1G`; a bare number is bytes); at least 4M. Swap is off when set."),
    CPU("cpu", Arity.ONCE, Kind.PERCENT, Default.NO_LIMIT,
            "CPU quota in percent of one core (`50%` = half a core, `200` = two cores), 1 to 10000."),
    PIDS("pids", Arity.ONCE, Kind.COUNT, Default.fixed(4096),
            "Most processes and threads at once, 1 to 1000000."),
    TMP_SIZE("tmp-size", Arity.ONCE, Kind.SIZE, Default.derived(
            "from emperor.ini `tmp-size` (" + Units.formatSize(VassalEnvironment.DEFAULT_TMP_BYTES) + ")"),
            "Size of the private /tmp (tmpfs); at least 1M."),
    DISK("disk", Arity.ONCE, Kind.SIZE, Default.derived(
            "from emperor.ini `disk-default` (" + Units.formatSize(DiskQuota.DEFAULT.bytes()) + ")"),
            "Disk space for the home and /run together (one filesystem image): a size from 16M, or `unlimited` (plain host directories, no bound). Over it the tenant's writes fail with ENOSPC."),
    INODES("inodes", Arity.ONCE, Kind.COUNT, Default.derived(
            "from emperor.ini `inodes-default` (" + DiskQuota.DEFAULT.inodes() + "), at most one per 4K of `disk`"),
            "Files and directories the home and /run may hold together, 64 to one per 4K of `disk`; needs a `disk` image."),
    CWD("cwd", Arity.ONCE, Kind.TEXT, Default.derived("the home"),
            "Working directory of the command: absolute path inside the tenant, no `.` or `..`."),
    HOME("home", Arity.ONCE, Kind.TEXT, Default.derived("/home/NAME"),
            "Writable home inside the tenant: absolute path under /home, no `.` or `..`."),
    BIND("bind", Arity.REPEATED, Kind.TEXT, Default.NONE,
            "Extra mount `SRC:DST` (read-only), `SRC:DST:ro` or `SRC:DST:rw`; SRC an existing absolute host path, DST absolute in the tenant."),
    SECCOMP_ALLOW("seccomp-allow", Arity.REPEATED, Kind.TEXT, Default.NONE,
            "Syscalls of the default deny list to allow anyway (names, space or comma separated)."),
    KSM("ksm", Arity.ONCE, Kind.BOOLEAN, Default.fixed(false),
            "Let the kernel merge identical memory pages (`true/false`, `yes/no`, `on/off`, `1/0`)."),
    FIREWALL_OUT("firewall-out", Arity.REPEATED, Kind.TEXT, Default.NONE,
            "The tenant's own rule for packets it sends, in emperor.ini's `tuntap-router-firewall-out` syntax (`allow SRC DST` or `deny SRC DST`, optionally `proto P` and `port N`); read in order after Emperor's built-in denials and before emperor.ini's rules. Changed without a restart."),
    FIREWALL_IN("firewall-in", Arity.REPEATED, Kind.TEXT, Default.NONE,
            "The same for packets sent to the tenant."),
    NET_RATE("net-rate", Arity.ONCE, Kind.SIZE, Default.NO_LIMIT,
            "Most bytes per second through the tun router, each way (size: `10M` = 10 MiB/s; a bare number is bytes/s); at least 1K. Over it, packets out wait in the tenant's own tun0 (its kernel drops them when that is full) and packets in are dropped and counted. Changed without a restart."),
    DOMAIN("domain", Arity.REPEATED, Kind.TEXT, Default.NONE,
            "Host name the front proxy routes to this tenant (HTTP Host, TLS SNI), ASCII (`xn--` form for international names); `*.example.com` matches every name below example.com. A name belongs to the tenant that claimed it first."),
    UPSTREAM("upstream", Arity.ONCE, Kind.TEXT, Default.fixed("/run/app.sock"),
            "Where the proxy sends the site's requests: a unix socket directly in the tenant's /run (`/run/app.sock`) or a port on the tenant's own address (`:8080`)."),
    MAINTENANCE("maintenance", Arity.ONCE, Kind.BOOLEAN, Default.fixed(false),
            "Answer with 503 and Retry-After (a maintenance page, or `maintenance-upstream`) instead of the app; `emperor maintenance NAME on` overrides it."),
    MAINTENANCE_UPSTREAM("maintenance-upstream", Arity.ONCE, Kind.TEXT, Default.derived("Emperor's page"),
            "A backend (same forms as `upstream`) that answers during maintenance."),
    HTTPS_REDIRECT("https-redirect", Arity.ONCE, Kind.BOOLEAN, Default.fixed(false),
            "Answer plain HTTP requests with a 308 redirect to the same https:// URL."),
    MAX_BODY("max-body", Arity.ONCE, Kind.SIZE, Default.fixed(10L << 20),
            "Largest request body the proxy forwards (size); a larger one gets 413."),
    MAX_CONNECTIONS("max-connections", Arity.ONCE, Kind.COUNT, Default.fixed(512),
            "Most client connections to the site at once, 1 to 1000000; more get 503. One client address gets at most half of them (and at most emperor.ini's `client-max-connections-per-site`); its next request gets 429."),
    CRON("cron", Arity.REPEATED, Kind.TEXT, Default.NONE,
            "A job run inside the tenant, as the tenant, output to its log: `MIN HOUR MDAY MONTH WDAY COMMAND` in uWSGI's form (`-1` = any, `-N` = every N) or crontab's (`*`, lists, ranges, steps, names), or `@daily COMMAND` etc.; see Cron jobs below."),
    CRON_TIMEOUT("cron-timeout", Arity.ONCE, Kind.DURATION, Default.fixed(Duration.ofHours(1)),
            "Longest run of each cron job (duration, at least 1s); a longer run gets SIGTERM, then SIGKILL after `stop-grace`."),
    DAEMON("daemon", Arity.REPEATED, Kind.TEXT, Default.NONE,
            "A helper command (redis, memcached...) kept running inside the tenant next to `exec`, split like `exec`; restarted with back-off, stopped with the tenant."),
    PORT("port", Arity.REPEATED, Kind.TEXT, Default.NONE,
            "Service on a public port: `NAME PROTO INTERNAL_PORT [proxy-protocol]`, e.g. `db tcp 5432`; NAME `[a-z][a-z0-9-]{0,31}`, unique; PROTO `tcp` or `tls` (passthrough, only for the domains the vassal holds, by SNI); INTERNAL_PORT 1-65535; `proxy-protocol`: each connection starts with a PROXY protocol v2 header giving the client's address and port. The public port is allocated once and kept.");

    /** Whether a key may be given more than once (INI: repeated lines; JSON: an array). */
    public enum Arity { ONCE, REPEATED }

    /** The JSON value a key takes besides a string (a string is always accepted). */
    public enum JsonType { STRING, NUMBER, BOOLEAN }

    /**
     * How a key's value is written, and so the Java type of its default: a size in bytes
     * ({@code long}), a count or a percentage ({@code int}), a boolean, a duration, or text.
     */
    public enum Kind {
        TEXT(String.class, JsonType.STRING),
        SIZE(Long.class, JsonType.NUMBER),
        PERCENT(Integer.class, JsonType.NUMBER),
        COUNT(Integer.class, JsonType.NUMBER),
        BOOLEAN(Boolean.class, JsonType.BOOLEAN),
        DURATION(Duration.class, JsonType.STRING);

        private final Class<?> javaType;
        private final JsonType jsonType;

        Kind(Class<?> javaType, JsonType jsonType) {
            this.javaType = javaType;
            this.jsonType = jsonType;
        }

        /** A value of this kind as a vassal file would write it ("10M", "1h", "4096"). */
        String format(Object value) {
            return switch (this) {
                case SIZE -> Units.formatSize((Long) value);
                case DURATION -> formatDuration((Duration) value);
                default -> value.toString();
            };
        }

        private static String formatDuration(Duration d) {
            if (d.toMillis() % 3_600_000 == 0) return d.toHours() + "h";
            if (d.toMillis() % 60_000 == 0) return d.toMinutes() + "m";
            if (d.toMillis() % 1_000 == 0) return d.toSeconds() + "s";
            return d.toMillis() + "ms";
        }
    }

    /** What a file that leaves a key out gets. */
    public sealed interface Default {
        /** The file must give the key. */
        Default REQUIRED = new Described("(required)");
        /** No value and no entries (the key is simply off). */
        Default NONE = new Described("none");
        /** No bound: a size or percentage of 0, which the jail reads as "no limit". */
        Default NO_LIMIT = new NoLimit();

        /** A value of the key's kind, the same for every vassal. */
        static Default fixed(Object value) {
            return new Fixed(value);
        }

        /** Worked out per vassal, from emperor.ini or from the file's other keys. */
        static Default derived(String rule) {
            return new Described(rule);
        }

        record Fixed(Object value) implements Default {
            public Fixed {
                Objects.requireNonNull(value, "value");
            }
        }

        record NoLimit() implements Default {}

        record Described(String text) implements Default {}
    }

    private final String key;
    private final Arity arity;
    private final Kind kind;
    private final Default defaultValue;
    private final String doc;

    VassalKey(String key, Arity arity, Kind kind, Default defaultValue, String doc) {
        if (defaultValue instanceof Default.Fixed fixed && !kind.javaType.isInstance(fixed.value())) {
            throw new IllegalArgumentException(key + ": default " + fixed.value() + " is not a " + kind);
        }
        if (defaultValue instanceof Default.NoLimit && kind != Kind.SIZE && kind != Kind.PERCENT) {
            throw new IllegalArgumentException(key + ": only sizes and percentages have 'no limit'");
        }
        this.key = key;
        this.arity = arity;
        this.kind = kind;
        this.defaultValue = defaultValue;
        this.doc = doc;
    }

    /** The key as written in files, e.g. "tmp-size". */
    public String key() {
        return key;
    }

    public boolean repeatable() {
        return arity == Arity.REPEATED;
    }

    public Kind kind() {
        return kind;
    }

    public JsonType jsonType() {
        return kind.jsonType;
    }

    public Default defaultValue() {
        return defaultValue;
    }

    /**
     * The default as vassals/README.md shows it: a fixed value in code style, exactly as a
     * file could write it (`10M`), or the rule in words.
     */
    public String defaultText() {
        return switch (defaultValue) {
            case Default.Fixed fixed -> "`" + kind.format(fixed.value()) + "`";
            case Default.NoLimit noLimit -> "no limit";
            case Default.Described described -> described.text();
        };
    }

    /** The default of a {@link Kind#SIZE} key in bytes (0 = no limit). */
    public long defaultBytes() {
        return kind == Kind.SIZE && defaultValue instanceof Default.NoLimit ? 0 : (Long) fixedDefault(Kind.SIZE);
    }

    /** The default of a {@link Kind#COUNT} or {@link Kind#PERCENT} key (0 = no limit). */
    public int defaultNumber() {
        if (kind == Kind.PERCENT && defaultValue instanceof Default.NoLimit) return 0;
        return (Integer) fixedDefault(kind == Kind.PERCENT ? Kind.PERCENT : Kind.COUNT);
    }

    public boolean defaultBoolean() {
        return (Boolean) fixedDefault(Kind.BOOLEAN);
    }

    public Duration defaultDuration() {
        return (Duration) fixedDefault(Kind.DURATION);
    }

    public String defaultString() {
        return (String) fixedDefault(Kind.TEXT);
    }

    /** A typed default asked of a key without one is a programming error, caught by the tests. */
    private Object fixedDefault(Kind expected) {
        if (kind != expected || !(defaultValue instanceof Default.Fixed fixed)) {
            throw new IllegalStateException(name() + " has no fixed " + expected + " default (it is a " + kind
                    + ", default: " + defaultText() + ")");
        }
        return fixed.value();
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
                    .append(switch (k.jsonType()) {
                        case STRING -> k.repeatable() ? "string or array of strings" : "string";
                        case NUMBER -> "number or string";
                        case BOOLEAN -> "boolean or string";
                    }).append(" | ")
                    .append(k.defaultText()).append(" | ")
                    .append(k.doc).append(" |\n");
        }
        return table.toString();
    }
}
