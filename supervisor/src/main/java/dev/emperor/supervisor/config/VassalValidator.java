package dev.emperor.supervisor.config;

import dev.emperor.jail.BindMount;
import dev.emperor.tunrouter.FirewallRule;
import dev.emperor.tunrouter.FirewallRuleException;
import dev.emperor.tunrouter.FirewallRuleParser;
import dev.emperor.tunrouter.FirewallRules;
import dev.emperor.supervisor.services.CronJob;
import dev.emperor.supervisor.services.DaemonSpec;
import dev.emperor.proxy.l4.ServiceProtocol;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checks the entries of one vassal file against {@link VassalKey} and resolves them into a
 * {@link VassalConfig}. Both file formats arrive here as the same list of (key, value, line),
 * so INI and JSON obey exactly one set of rules. Entries are checked in file order, so the
 * error reported is the first one in the file. A key the file leaves out takes its default
 * from {@link VassalKey} (or, for the rules it describes there, from emperor.ini and the
 * file's other keys).
 */
final class VassalValidator {

    static final long MIN_MEMORY = 4L << 20;
    static final long MIN_TMP = 1L << 20;
    static final int MAX_CPU_PERCENT = 10_000;
    static final int MAX_PIDS = 1_000_000;
    /** Ids below this belong to the system (Debian's FIRST_UID); tenants never get them. */
    static final long MIN_ID = 1000;
    /** Ids are Java ints throughout Emperor (the kernel would allow up to 2^32-2). */
    static final long MAX_ID = Integer.MAX_VALUE;
    /** "nobody": shared by NFS, daemons and other tools; a tenant must own its uid alone. */
    static final long NOBODY = 65534;

    private static final Pattern ENV_KEY = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern DISTRO_NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");
    private static final Pattern HOSTNAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?");
    private static final Pattern USER_NAME = Pattern.compile("[A-Za-z0-9_.][A-Za-z0-9_.-]{0,31}\\$?");
    private static final Pattern SERVICE_NAME = Pattern.compile("[a-z][a-z0-9-]{0,31}");
    private static final Pattern SYSCALL_SEPARATORS = Pattern.compile("[\\s,]+");
    private static final int MAX_PATH = 4095;
    /** Kernel filesystems: binding from or onto them would hand the tenant the host's view. */
    private static final List<String> KERNEL_TREES = List.of("/proc", "/sys", "/dev");

    private final Path file;
    private final VassalEnvironment env;

    private VassalValidator(Path file, VassalEnvironment env) {
        this.file = file;
        this.env = env;
    }

    /**
     * @param headerLine where the vassal's settings start (the [vassal] header, or the JSON
     *                   object), named in errors about missing keys and defaults
     */
    static VassalConfig validate(Path file, String name, int headerLine, List<IniDocument.Entry> entries,
            VassalEnvironment env, String contentHash) throws ConfigError {
        return new VassalValidator(file, env).resolve(name, headerLine, entries, contentHash);
    }

    /** The error for a key the schema does not know, with a suggestion when one is close. */
    static ConfigError unknownKey(Path file, int line, String key) {
        return new ConfigError(file, line, key, "unknown key" + DidYouMean.hint(key, VassalKey.keys()));
    }

    private VassalConfig resolve(String name, int headerLine, List<IniDocument.Entry> entries, String contentHash)
            throws ConfigError {
        Map<VassalKey, IniDocument.Entry> single = new EnumMap<>(VassalKey.class);
        List<String> argv = null;
        Map<String, IniDocument.Entry> envByKey = new LinkedHashMap<>();
        OptionalInt uid = OptionalInt.empty();
        OptionalInt gid = OptionalInt.empty();
        OptionalInt userUid = OptionalInt.empty();
        OptionalInt userGid = OptionalInt.empty();
        String distro = VassalKey.DISTRO.defaultString();
        String hostname = defaultHostname(name);
        long memory = VassalKey.MEMORY.defaultBytes();
        int cpu = VassalKey.CPU.defaultNumber();
        int pids = VassalKey.PIDS.defaultNumber();
        long tmp = env.defaultTmpBytes();
        DiskQuota diskDefault = env.defaultDisk();
        long disk = diskDefault.bytes();
        long inodes = -1;
        String cwd = null;
        String home = "/home/" + name;
        Map<String, IniDocument.Entry> bindTargets = new LinkedHashMap<>();
        List<BindMount> binds = new ArrayList<>();
        Set<String> seccomp = new LinkedHashSet<>();
        boolean ksm = VassalKey.KSM.defaultBoolean();
        List<FirewallRule> firewallOut = new ArrayList<>();
        List<FirewallRule> firewallIn = new ArrayList<>();
        long netRate = VassalKey.NET_RATE.defaultBytes();
        Map<String, IniDocument.Entry> domains = new LinkedHashMap<>();
        WebSite.Upstream upstream = WebSite.parseUpstream(VassalKey.UPSTREAM.defaultString());
        boolean maintenance = VassalKey.MAINTENANCE.defaultBoolean();
        WebSite.Upstream maintenanceUpstream = null;
        boolean httpsRedirect = VassalKey.HTTPS_REDIRECT.defaultBoolean();
        long maxBody = VassalKey.MAX_BODY.defaultBytes();
        int maxConnections = VassalKey.MAX_CONNECTIONS.defaultNumber();
        List<CronJob> cron = new ArrayList<>();
        List<DaemonSpec> daemons = new ArrayList<>();
        Duration cronTimeout = VassalKey.CRON_TIMEOUT.defaultDuration();
        Map<String, IniDocument.Entry> serviceLines = new LinkedHashMap<>();
        List<PortService> ports = new ArrayList<>();

        for (IniDocument.Entry entry : entries) {
            VassalKey key = VassalKey.byKey(entry.key())
                    .orElseThrow(() -> unknownKey(file, entry.line(), entry.key()));
            if (!key.repeatable()) {
                IniDocument.Entry earlier = single.putIfAbsent(key, entry);
                if (earlier != null) {
                    throw error(entry, "given twice (lines " + earlier.line() + " and " + entry.line()
                            + "); this key may appear once");
                }
            }
            String value = checkedText(entry);
            switch (key) {
                case EXEC -> argv = parseExec(entry, value);
                case ENV -> {
                    String envKey = parseEnv(entry, value);
                    IniDocument.Entry earlier = envByKey.putIfAbsent(envKey, entry);
                    if (earlier != null) {
                        throw error(entry, envKey + " is already set on line " + earlier.line());
                    }
                }
                case USER -> {
                    VassalEnvironment.HostAccount account = lookupUser(entry, value);
                    userUid = OptionalInt.of((int) account.uid());
                    userGid = OptionalInt.of((int) account.gid());
                }
                case UID -> uid = OptionalInt.of(parseId(entry, value, "uid"));
                case GID -> gid = OptionalInt.of(parseId(entry, value, "gid"));
                case DISTRO -> distro = parseDistro(entry, value);
                case HOSTNAME -> hostname = parseHostname(entry, value);
                case MEMORY -> memory = parseSizeAtLeast(entry, value, MIN_MEMORY);
                case CPU -> cpu = parseCpu(entry, value);
                case PIDS -> pids = (int) parseNumber(entry, value, 1, MAX_PIDS);
                case TMP_SIZE -> tmp = parseSizeAtLeast(entry, value, MIN_TMP);
                case DISK -> disk = parseDisk(entry, value);
                case INODES -> inodes = parseNumber(entry, value, DiskQuota.MIN_INODES, DiskQuota.MAX_INODES);
                case CWD -> cwd = parseTenantPath(entry, value);
                case HOME -> home = parseHome(entry, value);
                case BIND -> {
                    BindMount bind = parseBind(entry, value);
                    IniDocument.Entry earlier = bindTargets.putIfAbsent(bind.target(), entry);
                    if (earlier != null) {
                        throw error(entry, "bind target " + bind.target() + " is already bound on line "
                                + earlier.line());
                    }
                    binds.add(bind);
                }
                case SECCOMP_ALLOW -> seccomp.addAll(parseSyscalls(entry, value));
                case KSM -> ksm = parseBoolean(entry, value);
                case FIREWALL_OUT -> firewallOut.add(parseRule(entry, value));
                case FIREWALL_IN -> firewallIn.add(parseRule(entry, value));
                case NET_RATE -> netRate = parseSizeAtLeast(entry, value, 1024);
                case DOMAIN -> {
                    String domain = web(entry, () -> WebSite.parseDomain(value));
                    IniDocument.Entry earlier = domains.putIfAbsent(domain, entry);
                    if (earlier != null) {
                        throw error(entry, "domain " + domain + " is already given on line " + earlier.line());
                    }
                }
                case UPSTREAM -> upstream = web(entry, () -> WebSite.parseUpstream(value));
                case MAINTENANCE -> maintenance = parseBoolean(entry, value);
                case MAINTENANCE_UPSTREAM -> maintenanceUpstream = web(entry, () -> WebSite.parseUpstream(value));
                case HTTPS_REDIRECT -> httpsRedirect = parseBoolean(entry, value);
                case MAX_BODY -> maxBody = parseSizeAtLeast(entry, value, 0);
                case MAX_CONNECTIONS -> maxConnections = (int) parseNumber(entry, value, 1, 1_000_000);
                case CRON -> cron.add(parseCron(entry, value));
                case CRON_TIMEOUT -> cronTimeout = parseCronTimeout(entry, value);
                case DAEMON -> daemons.add(parseDaemon(entry, value));
                case PORT -> {
                    PortService service = parsePort(entry, value);
                    IniDocument.Entry earlier = serviceLines.putIfAbsent(service.name(), entry);
                    if (earlier != null) {
                        throw error(entry, "service " + service.name() + " is already declared on line "
                                + earlier.line());
                    }
                    ports.add(service);
                }
            }
        }

        if (argv == null) {
            throw new ConfigError(file, headerLine, VassalKey.EXEC.key(),
                    "required key missing: the command the vassal runs");
        }
        IniDocument.Entry userEntry = single.get(VassalKey.USER);
        for (VassalKey idKey : List.of(VassalKey.UID, VassalKey.GID)) {
            IniDocument.Entry idEntry = single.get(idKey);
            if (userEntry != null && idEntry != null) {
                throw error(idEntry, "not allowed together with 'user' (line " + userEntry.line()
                        + "): user sets both uid and gid");
            }
        }
        if (gid.isPresent() && uid.isEmpty()) {
            throw error(single.get(VassalKey.GID), "needs 'uid' as well");
        }
        if (userEntry != null) {
            uid = userUid;
            gid = userGid;
        } else if (uid.isPresent() && gid.isEmpty()) {
            gid = uid;
        }
        if (!single.containsKey(VassalKey.DISTRO) && !env.distroExists(distro)) {
            throw new ConfigError(file, headerLine, VassalKey.DISTRO.key(),
                    "the default distro " + ConfigError.quote(distro) + " is not in the distro store; name one that is");
        }
        checkBindTargetsExist(distro, bindTargets);
        if (domains.isEmpty()) {
            for (VassalKey webKey : List.of(VassalKey.UPSTREAM, VassalKey.MAINTENANCE, VassalKey.MAINTENANCE_UPSTREAM,
                    VassalKey.HTTPS_REDIRECT, VassalKey.MAX_BODY, VassalKey.MAX_CONNECTIONS)) {
                if (single.containsKey(webKey)) {
                    throw error(single.get(webKey), "only means something for a web site: add a 'domain'");
                }
            }
        }
        DiskQuota diskQuota = diskQuota(disk, inodes, diskDefault, single.get(VassalKey.INODES));
        WebSite web = domains.isEmpty() ? null : new WebSite(List.copyOf(domains.keySet()), upstream, maintenance,
                maintenanceUpstream, httpsRedirect, maxBody, maxConnections);
        List<String> environment = envByKey.values().stream().map(IniDocument.Entry::value).toList();
        return VassalConfig.builder().name(name).source(file).argv(argv).env(environment).uid(uid).gid(gid)
                .distro(distro).hostname(hostname).memoryBytes(memory).cpuPercent(cpu).pids(pids).tmpBytes(tmp)
                .disk(diskQuota).cwd(cwd != null ? cwd : home).homePath(home).binds(binds).seccompAllow(seccomp).ksm(ksm)
                .firewall(new FirewallRules(firewallOut, firewallIn)).web(web).contentHash(contentHash).cron(cron)
                .daemons(daemons).cronTimeout(cronTimeout).ports(ports).netRate(netRate).build();
    }

    private interface WebParse<T> {
        T parse();
    }

    /** Runs a WebSite parser, turning its complaint into an error on this line. */
    private <T> T web(IniDocument.Entry entry, WebParse<T> parse) throws ConfigError {
        try {
            return parse.parse();
        } catch (IllegalArgumentException e) {
            throw error(entry, e.getMessage());
        }
    }

    private FirewallRule parseRule(IniDocument.Entry entry, String value) throws ConfigError {
        try {
            return FirewallRuleParser.parse(value, file + ":" + entry.line());
        } catch (FirewallRuleException e) {
            throw error(entry, "bad rule " + ConfigError.quote(value) + ": " + e.problem());
        }
    }

    /** Values end up in argv, environ and mount calls: C strings of well-formed text. */
    private String checkedText(IniDocument.Entry entry) throws ConfigError {
        String value = entry.value();
        if (value.isEmpty()) {
            throw error(entry, "empty value");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == 0) {
                throw error(entry, "NUL character in value");
            }
            if (Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw error(entry, "value is not valid Unicode (lone surrogate)");
            }
        }
        return value;
    }

    private List<String> parseExec(IniDocument.Entry entry, String value) throws ConfigError {
        List<String> words;
        try {
            words = ShellWords.split(value);
        } catch (IllegalArgumentException e) {
            throw error(entry, e.getMessage());
        }
        if (words.isEmpty()) {
            throw error(entry, "no command");
        }
        if (words.get(0).isEmpty()) {
            throw error(entry, "empty program name");
        }
        return words;
    }

    private String parseEnv(IniDocument.Entry entry, String value) throws ConfigError {
        int equals = value.indexOf('=');
        if (equals < 0) {
            throw error(entry, "expected KEY=VALUE, found no '='");
        }
        String key = value.substring(0, equals);
        if (!ENV_KEY.matcher(key).matches()) {
            throw error(entry, "bad variable name " + ConfigError.quote(key) + ": expected [A-Za-z_][A-Za-z0-9_]*");
        }
        return key;
    }

    private VassalEnvironment.HostAccount lookupUser(IniDocument.Entry entry, String value) throws ConfigError {
        if (!USER_NAME.matcher(value).matches()) {
            throw error(entry, "bad user name " + ConfigError.quote(value));
        }
        Optional<VassalEnvironment.HostAccount> found;
        try {
            found = env.lookupUser(value);
        } catch (UncheckedIOException e) {
            throw error(entry, "cannot look up user " + ConfigError.quote(value) + ": " + e.getMessage());
        }
        VassalEnvironment.HostAccount account =
                found.orElseThrow(() -> error(entry, "unknown user " + ConfigError.quote(value)));
        checkIdRange(entry, "user " + ConfigError.quote(value) + " has uid " + account.uid(), account.uid());
        checkIdRange(entry, "user " + ConfigError.quote(value) + " has primary gid " + account.gid(), account.gid());
        return account;
    }

    private int parseId(IniDocument.Entry entry, String value, String what) throws ConfigError {
        long id = wholeNumber(entry, value);
        checkIdRange(entry, what + " " + (value.length() > 20 ? ConfigError.quote(value) : value), id);
        return (int) id;
    }

    private void checkIdRange(IniDocument.Entry entry, String subject, long id) throws ConfigError {
        if (id < MIN_ID) {
            throw error(entry, subject + ": tenants need ids of at least " + MIN_ID + " (below are system accounts)");
        }
        if (id > MAX_ID) {
            throw error(entry, subject + ": ids above " + MAX_ID + " are not supported");
        }
        if (id == NOBODY) {
            throw error(entry, subject + ": that is 'nobody', shared with the host; pick an id of the tenant's own");
        }
    }

    private String parseDistro(IniDocument.Entry entry, String value) throws ConfigError {
        if (!DISTRO_NAME.matcher(value).matches()) {
            throw error(entry, "bad distro name " + ConfigError.quote(value) + ": expected [a-z0-9][a-z0-9._-]*, at most 64 characters");
        }
        if (!env.distroExists(value)) {
            throw error(entry, "distro " + ConfigError.quote(value) + " is not in the distro store");
        }
        return value;
    }

    private String parseHostname(IniDocument.Entry entry, String value) throws ConfigError {
        if (!HOSTNAME.matcher(value).matches()) {
            throw error(entry, "bad hostname " + ConfigError.quote(value)
                    + ": 1 to 63 letters, digits and '-', not starting or ending with '-'");
        }
        return value;
    }

    /** Tenant names may hold '_' and end in '-', hostnames may not. */
    private static String defaultHostname(String name) {
        String hostname = name.replace('_', '-');
        while (hostname.endsWith("-")) {
            hostname = hostname.substring(0, hostname.length() - 1);
        }
        return hostname;
    }

    private long parseSizeAtLeast(IniDocument.Entry entry, String value, long minimum) throws ConfigError {
        long size;
        try {
            size = Units.parseSize(value);
        } catch (IllegalArgumentException e) {
            throw error(entry, e.getMessage());
        }
        if (size < minimum) {
            throw error(entry, ConfigError.quote(value) + " is too small: at least " + Units.formatSize(minimum));
        }
        return size;
    }

    /** A size from 16M, or "unlimited" (no image: home and /run on the host's filesystem). */
    private long parseDisk(IniDocument.Entry entry, String value) throws ConfigError {
        if (value.equals("unlimited")) return 0;
        long bytes;
        try {
            bytes = Units.parseSize(value);
        } catch (IllegalArgumentException e) {
            throw error(entry, e.getMessage() + ", or 'unlimited'");
        }
        if (bytes < DiskQuota.MIN_BYTES || bytes > DiskQuota.MAX_BYTES) {
            throw error(entry, ConfigError.quote(value) + " is out of range: " + Units.formatSize(DiskQuota.MIN_BYTES)
                    + " to " + Units.formatSize(DiskQuota.MAX_BYTES) + ", or 'unlimited'");
        }
        return bytes;
    }

    /**
     * The image's inodes: the file's, or the default capped to what the disk can hold. An
     * inode count means an image, so it needs a limited disk.
     */
    private DiskQuota diskQuota(long disk, long inodes, DiskQuota fallback, IniDocument.Entry inodesEntry)
            throws ConfigError {
        if (disk == 0) {
            if (inodesEntry != null) {
                throw error(inodesEntry, "needs a disk image, but disk is unlimited: set 'disk' to a size too");
            }
            return DiskQuota.UNLIMITED;
        }
        long most = DiskQuota.maxInodesFor(disk);
        if (inodesEntry == null) {
            long wanted = fallback.limited() ? fallback.inodes() : DiskQuota.DEFAULT.inodes();
            return new DiskQuota(disk, Math.min(wanted, most));
        }
        if (inodes > most) {
            throw error(inodesEntry, inodes + " is more than a disk of " + Units.formatSize(disk) + " can hold: at most "
                    + most + " (one per 4K)");
        }
        return new DiskQuota(disk, inodes);
    }

    private int parseCpu(IniDocument.Entry entry, String value) throws ConfigError {
        int percent;
        try {
            percent = Units.parsePercent(value);
        } catch (IllegalArgumentException e) {
            throw error(entry, e.getMessage());
        }
        if (percent < 1 || percent > MAX_CPU_PERCENT) {
            throw error(entry, ConfigError.quote(value) + " is out of range: 1 to " + MAX_CPU_PERCENT + " percent of one core");
        }
        return percent;
    }

    private long parseNumber(IniDocument.Entry entry, String value, long min, long max) throws ConfigError {
        long number = wholeNumber(entry, value);
        if (number < min || number > max) {
            throw error(entry, ConfigError.quote(value) + " is out of range: " + min + " to " + max);
        }
        return number;
    }

    /** Digits only; a number too long for a long comes back as Long.MAX_VALUE (out of every range). */
    private long wholeNumber(IniDocument.Entry entry, String value) throws ConfigError {
        if (!value.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw error(entry, "bad number " + ConfigError.quote(value) + ": expected digits only");
        }
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }

    private String parseHome(IniDocument.Entry entry, String value) throws ConfigError {
        String home = parseTenantPath(entry, value);
        if (!home.startsWith("/home/")) {
            throw error(entry, "home must be under /home, e.g. /home/NAME");
        }
        return home;
    }

    /** An absolute, normalised path: no empty, "." or ".." parts, nothing to resolve. */
    private String parseTenantPath(IniDocument.Entry entry, String value) throws ConfigError {
        Optional<String> problem = absolutePathProblem(value);
        if (problem.isPresent()) {
            throw error(entry, "bad path " + ConfigError.quote(value) + ": " + problem.get());
        }
        return value;
    }

    private static Optional<String> absolutePathProblem(String path) {
        if (!path.startsWith("/")) {
            return Optional.of("must be absolute");
        }
        if (path.length() > MAX_PATH) {
            return Optional.of("longer than " + MAX_PATH + " characters");
        }
        if (path.equals("/")) {
            return Optional.empty();
        }
        for (String part : path.substring(1).split("/", -1)) {
            if (part.isEmpty()) {
                return Optional.of("empty component (double or trailing '/')");
            }
            if (part.equals(".") || part.equals("..")) {
                return Optional.of(ConfigError.quote(part) + " components are not allowed");
            }
        }
        return Optional.empty();
    }

    /** Where the jail mounts something of its own: a bind target there is not the distro's to have. */
    private static final List<String> JAIL_MOUNTS = List.of("/home", "/run", "/tmp", "/dev", "/proc", "/opt");

    /**
     * A bind target must exist in the distro (the jail mounts onto it, it never creates one
     * in a read-only root): checked here when the distro is at hand, so that `emperor check`
     * and the daemon refuse the file by line instead of the tenant failing at every spawn.
     */
    private void checkBindTargetsExist(String distro, Map<String, IniDocument.Entry> bindTargets) throws ConfigError {
        Optional<java.nio.file.Path> root = env.distroRoot(distro);
        if (root.isEmpty()) return;
        for (Map.Entry<String, IniDocument.Entry> bind : bindTargets.entrySet()) {
            String target = bind.getKey();
            if (JAIL_MOUNTS.stream().anyMatch(m -> target.equals(m) || target.startsWith(m + "/"))) continue;
            if (!java.nio.file.Files.exists(root.get().resolve(target.substring(1)))) {
                throw error(bind.getValue(), "bind target " + target + " does not exist in distro "
                        + ConfigError.quote(distro) + " (the root is read-only: the target must be there)");
            }
        }
    }

    private static boolean inKernelTree(String path) {
        return KERNEL_TREES.stream().anyMatch(tree -> path.equals(tree) || path.startsWith(tree + "/"));
    }

    private BindMount parseBind(IniDocument.Entry entry, String value) throws ConfigError {
        String[] parts = value.split(":", -1);
        if (parts.length < 2 || parts.length > 3) {
            throw error(entry, "expected SRC:DST or SRC:DST:ro or SRC:DST:rw (" + ConfigError.quote(value) + ")");
        }
        boolean writable = false;
        if (parts.length == 3) {
            switch (parts[2]) {
                case "ro" -> writable = false;
                case "rw" -> writable = true;
                default -> throw error(entry, "bad bind mode " + ConfigError.quote(parts[2]) + ": expected ro or rw");
            }
        }
        String source = parts[0];
        String target = parts[1];
        Optional<String> problem = absolutePathProblem(source);
        if (problem.isPresent()) {
            throw error(entry, "bad bind source " + ConfigError.quote(source) + ": " + problem.get());
        }
        problem = absolutePathProblem(target);
        if (problem.isPresent()) {
            throw error(entry, "bad bind target " + ConfigError.quote(target) + ": " + problem.get());
        }
        if (source.equals("/") || inKernelTree(source)) {
            throw error(entry, "bind source " + source + " is not allowed: / and /proc, /sys, /dev are the host's");
        }
        if (target.equals("/") || inKernelTree(target)) {
            throw error(entry, "bind target " + target + " is not allowed: / and /proc, /sys, /dev belong to the jail");
        }
        Path sourcePath = Path.of(source);
        if (!Files.exists(sourcePath)) {
            throw error(entry, "bind source " + source + " does not exist");
        }
        return new BindMount(sourcePath, target, writable);
    }

    private List<String> parseSyscalls(IniDocument.Entry entry, String value) throws ConfigError {
        List<String> names = new ArrayList<>();
        for (String name : SYSCALL_SEPARATORS.split(value.strip())) {
            if (name.isEmpty()) {
                continue;
            }
            if (!RelaxableSyscalls.NAMES.contains(name)) {
                throw error(entry, ConfigError.quote(name) + " is not a syscall that can be allowed"
                        + DidYouMean.hint(name, RelaxableSyscalls.NAMES)
                        + "; see vassals/README.md for the list");
            }
            names.add(name);
        }
        if (names.isEmpty()) {
            throw error(entry, "no syscall names");
        }
        return names;
    }

    /** {@code NAME PROTO INTERNAL_PORT [proxy-protocol]}, separated by blanks. */
    private PortService parsePort(IniDocument.Entry entry, String value) throws ConfigError {
        String[] parts = value.strip().split("\\s+");
        if (parts.length != 3 && parts.length != 4) {
            throw error(entry, "expected NAME PROTO INTERNAL_PORT [proxy-protocol], e.g. 'db tcp 5432' ("
                    + ConfigError.quote(value) + ")");
        }
        if (parts.length == 4 && !parts[3].equals(PortService.PROXY_PROTOCOL)) {
            throw error(entry, "unknown option " + ConfigError.quote(parts[3]) + " after the internal port: the only"
                    + " one is '" + PortService.PROXY_PROTOCOL + "'");
        }
        if (!SERVICE_NAME.matcher(parts[0]).matches()) {
            throw error(entry, "bad service name " + ConfigError.quote(parts[0])
                    + ": lower-case letter first, then letters, digits or '-', at most 32");
        }
        ServiceProtocol protocol = ServiceProtocol.fromStored(parts[1]).orElseThrow(() -> error(entry,
                "bad protocol " + ConfigError.quote(parts[1]) + ": expected tcp or tls"));
        int internal;
        try {
            internal = Integer.parseInt(parts[2]);
        } catch (NumberFormatException e) {
            internal = -1;
        }
        if (internal < 1 || internal > 65535 || !parts[2].matches("[0-9]+")) {
            throw error(entry, "bad internal port " + ConfigError.quote(parts[2]) + ": expected 1-65535");
        }
        return new PortService(parts[0], protocol, internal, parts.length == 4);
    }

    private boolean parseBoolean(IniDocument.Entry entry, String value) throws ConfigError {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on", "1" -> true;
            case "false", "no", "off", "0" -> false;
            default -> throw error(entry, "bad boolean " + ConfigError.quote(value) + ": expected true/false, yes/no, on/off or 1/0");
        };
    }

    private CronJob parseCron(IniDocument.Entry entry, String value) throws ConfigError {
        try {
            return CronJob.parse(value);
        } catch (IllegalArgumentException e) {
            throw error(entry, e.getMessage());
        }
    }

    private Duration parseCronTimeout(IniDocument.Entry entry, String value) throws ConfigError {
        Duration timeout;
        try {
            timeout = Units.parseDuration(value);
        } catch (IllegalArgumentException e) {
            throw error(entry, e.getMessage());
        }
        if (timeout.compareTo(Duration.ofSeconds(1)) < 0) {
            throw error(entry, ConfigError.quote(value) + " is too short: at least 1s");
        }
        return timeout;
    }

    private DaemonSpec parseDaemon(IniDocument.Entry entry, String value) throws ConfigError {
        try {
            return DaemonSpec.parse(value);
        } catch (IllegalArgumentException e) {
            throw error(entry, e.getMessage());
        }
    }

    private ConfigError error(IniDocument.Entry entry, String problem) {
        return new ConfigError(file, entry.line(), entry.key(), problem);
    }
}
