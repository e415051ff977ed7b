package dev.emperor.supervisor.config;

import dev.emperor.proxy.l4.PortLimits;
import dev.emperor.tunrouter.Cidr;
import dev.emperor.tunrouter.TenantSubnet;
import dev.emperor.tunrouter.FirewallRule;
import dev.emperor.tunrouter.FirewallRuleException;
import dev.emperor.tunrouter.FirewallRuleParser;
import dev.emperor.tunrouter.FirewallRules;
import dev.emperor.tunrouter.HostService;
import java.net.InetSocketAddress;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The emperor's own settings, from the {@code [emperor]} section of emperor.ini (see
 * docs/CONFIG.md). Every key is optional; relative paths are taken from the directory of the
 * ini file, so a test can run a whole emperor inside a temporary directory.
 *
 * @param vassalsDir    directory watched for vassal files
 * @param stateDir      SQLite database and other state
 * @param runDir        runtime files: per-vassal /run directories, sockets
 * @param logDir        per-vassal log files
 * @param distroDir     the distro store (one directory per distro)
 * @param homeDir       tenants' homes, one directory per tenant
 * @param optDir        host directory shown read-only as every tenant's /opt; empty = the distro's own /opt
 * @param cgroup        Emperor's cgroup subtree: a name (under each hierarchy's root) or an absolute cgroup path
 * @param uidRange      uids (and gids) handed out to tenants that do not choose their own
 * @param stopGrace     time between SIGTERM and SIGKILL when stopping a vassal
 * @param backoffMax    longest wait before restarting a vassal that keeps failing
 * @param rescan        how often the vassal directory is rescanned in case inotify missed something
 * @param logMaxSize    size at which a vassal's log is rotated
 * @param logKeep       rotated logs kept per vassal
 * @param logRate       bytes per second a vassal may write to its log; lines over it are dropped and counted
 * @param controlSocket unix socket of the CLI and the shell entry
 * @param tmpSize       /tmp size for vassals that set no tmp-size
 * @param diskDefault   disk and inodes for vassals that set none (disk-default, inodes-default)
 * @param stopVassalsOnExit on-exit = stop: the emperor stops every tenant when it exits; the
 *                      default (leave) keeps them running for the next emperor to re-adopt
 * @param tunSubnet     the tenants' private subnet; its first host address is the gateway's
 * @param tunGateway    the gateway tun device in the host namespace; also names the NAT table
 *                      ({@code emperor_NAME})
 * @param firewall      the operator's rules, uWSGI's {@code tuntap-router-firewall-out|in = allow|deny
 *                      SRC DST} (repeatable, first match wins), checked after Emperor's built-in denials
 * @param hostServices  services of the host tenants may reach at the gateway address
 *                      ({@code tun-host-allow = tcp|udp PORT[-LAST]}, repeatable); the rest of
 *                      the host is closed to them
 * @param cronTimezone  the time zone cron schedules are read in (default: the host's)
 * @param proxy         the front proxy: listeners, TLS, certificates, public ports, access logs
 * @param ksmRun        ksm-run: whether the emperor starts the host's ksmd (see {@link KsmRun})
 * @param retain        how long a removed tenant stays retired (its identity and data kept for its
 *                      name) before it is purged; operator-only, a vassal file cannot set it
 * @param statusDir     status-dir: where each vassal's NAME.json is kept for file-only panels; empty = none
 */
public record EmperorConfig(
        Path vassalsDir,
        Path stateDir,
        Path runDir,
        Path logDir,
        Path distroDir,
        Path homeDir,
        Optional<Path> optDir,
        String cgroup,
        UidRange uidRange,
        Duration stopGrace,
        Duration backoffMax,
        Duration rescan,
        long logMaxSize,
        int logKeep,
        long logRate,
        Path controlSocket,
        long tmpSize,
        DiskQuota diskDefault,
        boolean stopVassalsOnExit,
        Cidr tunSubnet,
        String tunGateway,
        FirewallRules firewall,
        List<HostService> hostServices,
        ZoneId cronTimezone,
        ProxySettings proxy,
        KsmRun ksmRun,
        Duration retain,
        Optional<Path> statusDir) {

    /** How long a removed tenant is kept for its name by default (retain). */
    public static final Duration DEFAULT_RETAIN = Duration.ofDays(30);

    public EmperorConfig {
        hostServices = List.copyOf(hostServices);
    }

    /** The ids from {@code first} to {@code last}, both included. */
    public record UidRange(int first, int last) {
        public UidRange {
            if (first > last) {
                throw new IllegalArgumentException("empty uid range " + first + "-" + last);
            }
        }

        public int size() {
            return last - first + 1;
        }

        public boolean contains(long id) {
            return id >= first && id <= last;
        }

        @Override
        public String toString() {
            return first + "-" + last;
        }
    }

    public static final String SECTION = "emperor";

    private static final String FIREWALL_OUT = "tuntap-router-firewall-out";
    private static final String FIREWALL_IN = "tuntap-router-firewall-in";
    private static final String HOST_ALLOW = "tun-host-allow";
    private static final String DOMAIN_ALLOW = "domain-allow";
    private static final String MAX_PORTS_FOR = "max-ports-for";
    /** Keys that may repeat: the firewall rules, host services, per-tenant port caps and domain policy, kept in file order. */
    private static final List<String> REPEATABLE = List.of(FIREWALL_OUT, FIREWALL_IN, HOST_ALLOW, MAX_PORTS_FOR, DOMAIN_ALLOW);

    /** Every key of [emperor], in the order docs/CONFIG.md lists them. */
    static final List<String> KEYS = List.of(
            "vassals", "state-dir", "run-dir", "log-dir", "distro-dir", "home-dir", "opt-dir", "cgroup",
            "uid-range", "stop-grace", "backoff-max", "rescan", "log-max-size", "log-keep", "log-rate",
            "control-socket", "tmp-size", "disk-default", "inodes-default", "on-exit", "tun-subnet", "tun-gateway",
            FIREWALL_OUT, FIREWALL_IN, HOST_ALLOW, "cron-timezone",
            "http-listen", "https-listen", "platform-domain", "tls-cert", "tls-key", "cert-dir", "port-range",
            "max-ports", MAX_PORTS_FOR, "port-listen",
            "access-log-dir", "acme-directory", "acme-email", "acme-ca-trust", "acme-renew-days", "acme-auto",
            "client-header-timeout", "client-idle-timeout", "client-min-rate", "client-rate-grace", "upstream-timeout",
            "client-max-connections", "client-max-connections-per-site", "max-connections", "underscores-in-headers",
            DOMAIN_ALLOW, "ksm-run", "retain", "status-dir");

    private static final Pattern UID_RANGE = Pattern.compile("(\\d{1,10})\\s*-\\s*(\\d{1,10})");
    /** An interface name that is also a valid nftables table suffix. */
    private static final Pattern GATEWAY_NAME = Pattern.compile("[a-z0-9_]{1,15}");
    /** ADDRESS:PORT, the address an IPv4 literal or a bracketed IPv6 literal. */
    private static final Pattern LISTEN = Pattern.compile("(?:(\\d{1,3}(?:\\.\\d{1,3}){3})|\\[([0-9A-Fa-f:.]+)\\]):(\\d{1,5})");
    private static final Pattern CGROUP_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}");

    /** The settings of an emperor.ini without keys: the Linux-convention paths. */
    public static EmperorConfig defaults() {
        return builder().build();
    }

    /**
     * A builder starting from {@link #defaults()} (the Linux-convention paths): set only what
     * differs. Setting stateDir or runDir does not move the paths derived from them (distroDir,
     * homeDir, controlSocket, the proxy's directories); set those too.
     */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this config's values, to change some of them. */
    public Builder toBuilder() {
        return new Builder().vassalsDir(vassalsDir).stateDir(stateDir).runDir(runDir).logDir(logDir)
                .distroDir(distroDir).homeDir(homeDir).optDir(optDir).cgroup(cgroup).uidRange(uidRange)
                .stopGrace(stopGrace).backoffMax(backoffMax).rescan(rescan).logMaxSize(logMaxSize).logKeep(logKeep)
                .logRate(logRate).controlSocket(controlSocket).tmpSize(tmpSize).diskDefault(diskDefault)
                .stopVassalsOnExit(stopVassalsOnExit).tunSubnet(tunSubnet).tunGateway(tunGateway).firewall(firewall)
                .hostServices(hostServices).cronTimezone(cronTimezone).proxy(proxy).ksmRun(ksmRun).retain(retain)
                .statusDir(statusDir);
    }

    /** This config with other front proxy settings (a reload keeps some of the running ones). */
    public EmperorConfig withProxy(ProxySettings proxy) {
        return toBuilder().proxy(proxy).build();
    }

    /** Names each setting of an {@link EmperorConfig}; each starts at its default. */
    public static final class Builder {
        private static final Path STATE = Path.of("/var/lib/emperor");
        private static final Path RUN = Path.of("/run/emperor");
        private static final Path LOGS = Path.of("/var/log/emperor");

        private Path vassalsDir = Path.of("/etc/emperor/vassals");
        private Path stateDir = STATE;
        private Path runDir = RUN;
        private Path logDir = LOGS;
        private Path distroDir = STATE.resolve("distros");
        private Path homeDir = STATE.resolve("homes");
        private Optional<Path> optDir = Optional.empty();
        private String cgroup = "emperor";
        private UidRange uidRange = new UidRange(100_000, 199_999);
        private Duration stopGrace = Duration.ofSeconds(10);
        private Duration backoffMax = Duration.ofSeconds(60);
        private Duration rescan = Duration.ofSeconds(10);
        private long logMaxSize = 10L << 20;
        private int logKeep = 5;
        private long logRate = 1L << 20;
        private Path controlSocket = RUN.resolve("control.sock");
        private long tmpSize = VassalEnvironment.DEFAULT_TMP_BYTES;
        private DiskQuota diskDefault = DiskQuota.DEFAULT;
        private boolean stopVassalsOnExit = false;
        private Cidr tunSubnet = Cidr.parse("10.200.0.0/16");
        private String tunGateway = "emperor0";
        private FirewallRules firewall = FirewallRules.NONE;
        private List<HostService> hostServices = List.of();
        private ZoneId cronTimezone = ZoneId.systemDefault();
        private ProxySettings proxy = ProxySettings.defaults(STATE, LOGS);
        private KsmRun ksmRun = KsmRun.OFF;
        private Duration retain = DEFAULT_RETAIN;
        private Optional<Path> statusDir = Optional.empty();

        private Builder() {}

        public Builder vassalsDir(Path vassalsDir) {
            this.vassalsDir = vassalsDir;
            return this;
        }

        public Builder stateDir(Path stateDir) {
            this.stateDir = stateDir;
            return this;
        }

        public Builder runDir(Path runDir) {
            this.runDir = runDir;
            return this;
        }

        public Builder logDir(Path logDir) {
            this.logDir = logDir;
            return this;
        }

        public Builder distroDir(Path distroDir) {
            this.distroDir = distroDir;
            return this;
        }

        public Builder homeDir(Path homeDir) {
            this.homeDir = homeDir;
            return this;
        }

        public Builder optDir(Optional<Path> optDir) {
            this.optDir = optDir;
            return this;
        }

        public Builder cgroup(String cgroup) {
            this.cgroup = cgroup;
            return this;
        }

        public Builder uidRange(UidRange uidRange) {
            this.uidRange = uidRange;
            return this;
        }

        public Builder stopGrace(Duration stopGrace) {
            this.stopGrace = stopGrace;
            return this;
        }

        public Builder backoffMax(Duration backoffMax) {
            this.backoffMax = backoffMax;
            return this;
        }

        public Builder rescan(Duration rescan) {
            this.rescan = rescan;
            return this;
        }

        public Builder logMaxSize(long logMaxSize) {
            this.logMaxSize = logMaxSize;
            return this;
        }

        public Builder logKeep(int logKeep) {
            this.logKeep = logKeep;
            return this;
        }

        public Builder logRate(long logRate) {
            this.logRate = logRate;
            return this;
        }

        public Builder controlSocket(Path controlSocket) {
            this.controlSocket = controlSocket;
            return this;
        }

        public Builder tmpSize(long tmpSize) {
            this.tmpSize = tmpSize;
            return this;
        }

        public Builder diskDefault(DiskQuota diskDefault) {
            this.diskDefault = diskDefault;
            return this;
        }

        public Builder stopVassalsOnExit(boolean stopVassalsOnExit) {
            this.stopVassalsOnExit = stopVassalsOnExit;
            return this;
        }

        public Builder tunSubnet(Cidr tunSubnet) {
            this.tunSubnet = tunSubnet;
            return this;
        }

        public Builder tunGateway(String tunGateway) {
            this.tunGateway = tunGateway;
            return this;
        }

        public Builder firewall(FirewallRules firewall) {
            this.firewall = firewall;
            return this;
        }

        public Builder hostServices(List<HostService> hostServices) {
            this.hostServices = hostServices;
            return this;
        }

        public Builder cronTimezone(ZoneId cronTimezone) {
            this.cronTimezone = cronTimezone;
            return this;
        }

        public Builder proxy(ProxySettings proxy) {
            this.proxy = proxy;
            return this;
        }

        public Builder ksmRun(KsmRun ksmRun) {
            this.ksmRun = ksmRun;
            return this;
        }

        public Builder retain(Duration retain) {
            this.retain = retain;
            return this;
        }

        public Builder statusDir(Optional<Path> statusDir) {
            this.statusDir = statusDir;
            return this;
        }

        public EmperorConfig build() {
            return new EmperorConfig(vassalsDir, stateDir, runDir, logDir, distroDir, homeDir, optDir, cgroup,
                uidRange, stopGrace, backoffMax, rescan, logMaxSize, logKeep, logRate, controlSocket, tmpSize,
                diskDefault, stopVassalsOnExit, tunSubnet, tunGateway, firewall, hostServices, cronTimezone, proxy,
                ksmRun, retain, statusDir);
        }
    }

    /** Reads emperor.ini. A file without an [emperor] section gives the defaults. */
    public static EmperorConfig load(Path file) throws ConfigError {
        IniDocument ini = IniParser.parse(file);
        for (String section : ini.sectionNames()) {
            if (!section.equals(SECTION)) {
                throw new ConfigError(file, ini.sectionLine(section), null, "unknown section [" + section
                        + "]; emperor.ini has only [emperor]" + DidYouMean.hint(section, List.of(SECTION)));
            }
        }
        return new Reader(file, ini.entries(SECTION)).read();
    }

    /** Turns the entries of [emperor] into a config, one key at a time. */
    private static final class Reader {
        private final Path file;
        private final Path base;
        private final Map<String, IniDocument.Entry> entries = new HashMap<>();
        private final List<IniDocument.Entry> inOrder;

        Reader(Path file, List<IniDocument.Entry> inOrder) {
            this.file = file;
            Path parent = file.toAbsolutePath().getParent();
            this.base = parent != null ? parent : Path.of("/");
            this.inOrder = inOrder;
        }

        EmperorConfig read() throws ConfigError {
            for (IniDocument.Entry entry : inOrder) {
                if (!KEYS.contains(entry.key())) {
                    throw new ConfigError(file, entry.line(), entry.key(),
                            "unknown key" + DidYouMean.hint(entry.key(), KEYS));
                }
                IniDocument.Entry earlier = entries.putIfAbsent(entry.key(), entry);
                if (earlier != null && !REPEATABLE.contains(entry.key())) {
                    throw error(entry, "given twice (lines " + earlier.line() + " and " + entry.line() + ")");
                }
                if (entry.value().isEmpty()) {
                    throw error(entry, "empty value (leave the key out to get the default)");
                }
            }
            EmperorConfig d = defaults();
            Path state = path("state-dir", d.stateDir());
            Path run = path("run-dir", d.runDir());
            Path logs = path("log-dir", d.logDir());
            return builder()
                    .vassalsDir(path("vassals", d.vassalsDir()))
                    .stateDir(state)
                    .runDir(run)
                    .logDir(logs)
                    .distroDir(path("distro-dir", state.resolve("distros")))
                    .homeDir(path("home-dir", state.resolve("homes")))
                    .optDir(optional("opt-dir", this::toPath))
                    .cgroup(value("cgroup", d.cgroup(), this::cgroup))
                    .uidRange(value("uid-range", d.uidRange(), this::uidRange))
                    .stopGrace(value("stop-grace", d.stopGrace(), e -> duration(e, Duration.ZERO)))
                    .backoffMax(value("backoff-max", d.backoffMax(), e -> duration(e, Duration.ofMillis(1))))
                    .rescan(value("rescan", d.rescan(), e -> duration(e, Duration.ofMillis(1))))
                    .logMaxSize(value("log-max-size", d.logMaxSize(), e -> size(e, 4L << 10)))
                    .logKeep(value("log-keep", d.logKeep(), this::logKeep))
                    .logRate(value("log-rate", d.logRate(), e -> size(e, 1L << 10)))
                    .controlSocket(path("control-socket", run.resolve("control.sock")))
                    .tmpSize(value("tmp-size", d.tmpSize(), e -> size(e, VassalValidator.MIN_TMP)))
                    .diskDefault(diskDefault())
                    .stopVassalsOnExit(value("on-exit", d.stopVassalsOnExit(), this::onExit))
                    .tunSubnet(value("tun-subnet", d.tunSubnet(), this::tunSubnet))
                    .tunGateway(value("tun-gateway", d.tunGateway(), this::tunGateway))
                    .firewall(new FirewallRules(rules(FIREWALL_OUT), rules(FIREWALL_IN)))
                    .hostServices(hostServices())
                    .cronTimezone(value("cron-timezone", d.cronTimezone(), this::zone))
                    .proxy(proxy(state, logs))
                    .ksmRun(value("ksm-run", d.ksmRun(), this::ksmRun))
                    .retain(value("retain", d.retain(), this::retain))
                    .statusDir(optional("status-dir", this::toPath))
                    .build();
        }

        private ProxySettings proxy(Path state, Path logs) throws ConfigError {
            ProxySettings d = ProxySettings.defaults(state, logs);
            Optional<Path> cert = optional("tls-cert", this::toPath);
            Optional<Path> key = optional("tls-key", this::toPath);
            if (cert.isPresent() != key.isPresent()) {
                IniDocument.Entry given = entries.get(cert.isPresent() ? "tls-cert" : "tls-key");
                throw error(given, "tls-cert and tls-key go together: give both (the platform certificate and its key)"
                        + " or neither");
            }
            int[] range = value("port-range", new int[] {d.portLow(), d.portHigh()}, this::portRange);
            return new ProxySettings(
                    value("http-listen", d.httpListen(), this::listen),
                    value("https-listen", d.httpsListen(), this::listen),
                    optional("platform-domain", e -> convert(e, WebSite::parseDomain)),
                    cert, key,
                    path("cert-dir", d.certDir()),
                    range[0], range[1],
                    path("access-log-dir", d.accessLogDir()),
                    acme(),
                    clientLimits(d.clientLimits()),
                    portLimits(),
                    domainAllow(),
                    value("port-listen", d.portListen(), this::portListen));
        }

        /**
         * Comma-separated IP address literals (IPv4, or IPv6 bare or in brackets) that public ports
         * listen on; never a host name, so no lookup decides where tenants' ports are exposed.
         */
        private List<java.net.InetAddress> portListen(IniDocument.Entry entry) throws ConfigError {
            List<java.net.InetAddress> addresses = new ArrayList<>();
            for (String part : entry.value().split(",", -1)) {
                String text = part.strip();
                String literal = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
                java.net.InetAddress address = io.netty.util.NetUtil.createInetAddressFromIpAddressString(literal);
                if (address == null || literal.contains("%")) {
                    throw error(entry, "bad address " + ConfigError.quote(text) + ": expected IP address literals"
                            + " (IPv4 or IPv6), comma-separated, e.g. 127.0.0.1, ::1");
                }
                if (addresses.contains(address)) {
                    throw error(entry, ConfigError.quote(text) + " is listed twice");
                }
                addresses.add(address);
            }
            return addresses;
        }

        /** Every domain-allow pattern (a name or *.name, as a vassal's domain), in file order. */
        private List<String> domainAllow() throws ConfigError {
            List<String> patterns = new ArrayList<>();
            for (IniDocument.Entry entry : inOrder) {
                if (entry.key().equals(DOMAIN_ALLOW)) patterns.add(convert(entry, WebSite::parseDomain));
            }
            return patterns;
        }

        /** max-ports for every tenant, and max-ports-for lines (NAME N) for named ones. */
        private PortLimits portLimits() throws ConfigError {
            int perTenant = value("max-ports", PortLimits.DEFAULT_PER_TENANT, this::portCount);
            Map<String, Integer> byTenant = new HashMap<>();
            for (IniDocument.Entry entry : inOrder) {
                if (!entry.key().equals(MAX_PORTS_FOR)) continue;
                String[] parts = entry.value().trim().split("\\s+");
                if (parts.length != 2 || !VassalFiles.TENANT_NAME.matcher(parts[0]).matches()) {
                    throw error(entry, "bad value " + ConfigError.quote(entry.value())
                            + ": expected 'NAME N', a vassal name and its number of public ports, e.g. 'shop 20'");
                }
                if (byTenant.containsKey(parts[0])) {
                    throw error(entry, "vassal " + parts[0] + " is given a port limit twice");
                }
                byTenant.put(parts[0], portCount(entry, parts[1]));
            }
            return new PortLimits(perTenant, byTenant);
        }

        private int portCount(IniDocument.Entry entry) throws ConfigError {
            return portCount(entry, entry.value());
        }

        private int portCount(IniDocument.Entry entry, String value) throws ConfigError {
            if (!value.matches("\\d{1,5}") || Integer.parseInt(value) > 65535) {
                throw error(entry, "bad number of ports " + ConfigError.quote(value) + ": expected 0 to 65535");
            }
            return Integer.parseInt(value);
        }

        /** Off unless acme-directory is given; the other acme-* keys mean nothing without it. */
        private Optional<AcmeSettings> acme() throws ConfigError {
            if (!entries.containsKey("acme-directory")) {
                for (String key : List.of("acme-email", "acme-ca-trust", "acme-renew-days", "acme-auto")) {
                    if (entries.containsKey(key)) {
                        throw error(entries.get(key), key + " needs acme-directory (the CA's ACME directory URL)");
                    }
                }
                return Optional.empty();
            }
            return Optional.of(new AcmeSettings(
                    value("acme-directory", null, this::acmeDirectory),
                    optional("acme-email", this::email),
                    optional("acme-ca-trust", this::trustFile),
                    value("acme-renew-days", AcmeSettings.DEFAULT_RENEW_DAYS, this::renewDays),
                    value("acme-auto", false, this::yesNo)));
        }

        private java.net.URI acmeDirectory(IniDocument.Entry entry) throws ConfigError {
            java.net.URI uri;
            try {
                uri = new java.net.URI(entry.value());
            } catch (java.net.URISyntaxException e) {
                throw error(entry, "bad URL " + ConfigError.quote(entry.value()) + ": " + e.getReason());
            }
            boolean https = "https".equals(uri.getScheme()) && uri.getHost() != null;
            boolean provider = "acme".equals(uri.getScheme()) && uri.getHost() != null;
            if (!https && !provider) {
                throw error(entry, "bad URL " + ConfigError.quote(entry.value())
                        + ": expected the CA's https:// directory URL (e.g. https://acme-v02.api.letsencrypt.org/directory)"
                        + " or an acme:// provider URI (e.g. acme://letsencrypt.org)");
            }
            return uri;
        }

        private String email(IniDocument.Entry entry) throws ConfigError {
            if (!entry.value().matches("[^@\\s,;<>]+@[^@\\s,;<>]+\\.[^@\\s,;<>]+")) {
                throw error(entry, "bad e-mail address " + ConfigError.quote(entry.value()));
            }
            return entry.value();
        }

        /** Read now, so a missing or wrong file is an error naming the key, not a failed issuance later. */
        private Path trustFile(IniDocument.Entry entry) throws ConfigError {
            Path trust = toPath(entry);
            try (var in = java.nio.file.Files.newInputStream(trust)) {
                java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in);
            } catch (java.nio.file.NoSuchFileException e) {
                throw error(entry, "no such file " + trust);
            } catch (java.io.IOException e) {
                throw error(entry, "cannot read " + trust + ": " + e.getMessage());
            } catch (java.security.cert.CertificateException e) {
                throw error(entry, trust + " holds no PEM certificate: " + e.getMessage());
            }
            return trust;
        }

        private int renewDays(IniDocument.Entry entry) throws ConfigError {
            String value = entry.value();
            if (!value.matches("\\d{1,5}") || Integer.parseInt(value) < 1 || Integer.parseInt(value) > 3650) {
                throw error(entry, "bad number of days " + ConfigError.quote(value) + ": expected 1 to 3650");
            }
            return Integer.parseInt(value);
        }

        private boolean yesNo(IniDocument.Entry entry) throws ConfigError {
            return switch (entry.value()) {
                case "true", "yes", "on" -> true;
                case "false", "no", "off" -> false;
                default -> throw error(entry, "expected true or false, not " + ConfigError.quote(entry.value()));
            };
        }

        private ClientLimits clientLimits(ClientLimits d) throws ConfigError {
            Duration atLeast = Duration.ofMillis(1);
            return new ClientLimits(
                    value("client-header-timeout", d.headerTimeout(), e -> duration(e, atLeast)),
                    value("client-idle-timeout", d.idleTimeout(), e -> duration(e, atLeast)),
                    value("client-min-rate", d.minRate(), e -> size(e, 0)),
                    value("client-rate-grace", d.rateGrace(), e -> duration(e, atLeast)),
                    value("upstream-timeout", d.upstreamTimeout(), e -> duration(e, atLeast)),
                    value("client-max-connections", d.maxPerClient(), this::connectionCount),
                    value("client-max-connections-per-site", d.maxPerClientPerSite(), this::connectionCount),
                    value("max-connections", d.maxConnections(), this::connectionCount),
                    value("underscores-in-headers", d.underscoresInHeaders(), this::yesNo));
        }

        private int connectionCount(IniDocument.Entry entry) throws ConfigError {
            String value = entry.value();
            if (!value.matches("\\d{1,7}") || Integer.parseInt(value) < 1 || Integer.parseInt(value) > 1_000_000) {
                throw error(entry, "bad number of connections " + ConfigError.quote(value) + ": expected 1 to 1000000");
            }
            return Integer.parseInt(value);
        }

        /** {@code off}, or comma-separated {@code ADDRESS:PORT} with a literal IPv4 or [IPv6] address. */
        private List<InetSocketAddress> listen(IniDocument.Entry entry) throws ConfigError {
            if (entry.value().equals("off")) return List.of();
            List<InetSocketAddress> addresses = new ArrayList<>();
            for (String part : entry.value().split(",", -1)) {
                String text = part.strip();
                Matcher m = LISTEN.matcher(text);
                if (!m.matches()) {
                    throw error(entry, "bad listen address " + ConfigError.quote(text)
                            + ": expected ADDRESS:PORT (e.g. 0.0.0.0:80 or [::]:80), a comma-separated list, or 'off'");
                }
                String host = m.group(1) != null ? m.group(1) : m.group(2);
                int port = Integer.parseInt(m.group(3));
                if (port < 1 || port > 65535) {
                    throw error(entry, "port " + port + " in " + ConfigError.quote(text) + " is not from 1 to 65535");
                }
                InetSocketAddress address;
                try {
                    // a literal (checked by LISTEN): no name lookup happens
                    address = new InetSocketAddress(java.net.InetAddress.getByName(host), port);
                } catch (java.net.UnknownHostException e) {
                    throw error(entry, "bad address " + ConfigError.quote(host) + " in " + ConfigError.quote(text));
                }
                if (addresses.contains(address)) {
                    throw error(entry, ConfigError.quote(text) + " is listed twice");
                }
                addresses.add(address);
            }
            return addresses;
        }

        private int[] portRange(IniDocument.Entry entry) throws ConfigError {
            Matcher m = UID_RANGE.matcher(entry.value());
            if (!m.matches()) {
                throw error(entry, "bad port range " + ConfigError.quote(entry.value()) + ": expected LOW-HIGH, e.g. 20000-29999");
            }
            long low = Long.parseLong(m.group(1));
            long high = Long.parseLong(m.group(2));
            if (low < 1 || high > 65535 || low > high) {
                throw error(entry, "bad port range " + ConfigError.quote(entry.value())
                        + ": ports from 1 to 65535, LOW not above HIGH");
            }
            return new int[] {(int) low, (int) high};
        }

        /** Every tun-host-allow line, in file order; a bad one names its line. */
        private List<HostService> hostServices() throws ConfigError {
            List<HostService> services = new ArrayList<>();
            for (IniDocument.Entry entry : inOrder) {
                if (!entry.key().equals(HOST_ALLOW)) continue;
                try {
                    services.add(HostService.parse(entry.value()));
                } catch (IllegalArgumentException e) {
                    throw error(entry, e.getMessage());
                }
            }
            return services;
        }

        /** Every rule given for a firewall key, in file order; a bad rule names its line. */
        private List<FirewallRule> rules(String key) throws ConfigError {
            List<FirewallRule> rules = new ArrayList<>();
            for (IniDocument.Entry entry : inOrder) {
                if (!entry.key().equals(key)) continue;
                try {
                    rules.add(FirewallRuleParser.parse(entry.value(), file + ":" + entry.line()));
                } catch (FirewallRuleException e) {
                    throw error(entry, "bad rule " + ConfigError.quote(entry.value()) + ": " + e.problem());
                }
            }
            return rules;
        }

        private interface Parse<T> {
            T apply(IniDocument.Entry entry) throws ConfigError;
        }

        private <T> T value(String key, T fallback, Parse<T> parse) throws ConfigError {
            IniDocument.Entry entry = entries.get(key);
            return entry == null ? fallback : parse.apply(entry);
        }

        private <T> Optional<T> optional(String key, Parse<T> parse) throws ConfigError {
            IniDocument.Entry entry = entries.get(key);
            return entry == null ? Optional.empty() : Optional.of(parse.apply(entry));
        }

        private Path path(String key, Path fallback) throws ConfigError {
            return value(key, fallback, this::toPath);
        }

        private Path toPath(IniDocument.Entry entry) throws ConfigError {
            try {
                return base.resolve(entry.value()).normalize();
            } catch (InvalidPathException e) {
                throw error(entry, "bad path " + ConfigError.quote(entry.value()) + ": " + e.getReason());
            }
        }

        private String cgroup(IniDocument.Entry entry) throws ConfigError {
            String value = entry.value();
            if (value.startsWith("/")) {
                boolean clean = value.length() > 1 && !value.endsWith("/")
                        && List.of(value.substring(1).split("/", -1)).stream()
                                .allMatch(part -> CGROUP_NAME.matcher(part).matches());
                if (!clean) {
                    throw error(entry, "bad cgroup path " + ConfigError.quote(value)
                            + ": expected /PARENT/.../NAME, parts of letters, digits, '_', '.' and '-'"
                            + " (not the root cgroup)");
                }
            } else if (!CGROUP_NAME.matcher(value).matches()) {
                throw error(entry, "bad cgroup name " + ConfigError.quote(value)
                        + ": letters, digits, '_', '.' and '-', or an absolute cgroup path");
            }
            return value;
        }

        /** disk-default: a size from 16M or "unlimited"; inodes-default: a count (capped per tenant by its disk). */
        private DiskQuota diskDefault() throws ConfigError {
            long bytes = value("disk-default", DiskQuota.DEFAULT.bytes(), e -> {
                if (e.value().equals("unlimited")) return 0L;
                long size = size(e, DiskQuota.MIN_BYTES);
                if (size > DiskQuota.MAX_BYTES) {
                    throw error(e, ConfigError.quote(e.value()) + " is too large: at most " + Units.formatSize(DiskQuota.MAX_BYTES));
                }
                return size;
            });
            long inodes = value("inodes-default", DiskQuota.DEFAULT.inodes(), e -> {
                String v = e.value();
                if (!v.matches("\\d{1,10}") || Long.parseLong(v) < DiskQuota.MIN_INODES || Long.parseLong(v) > DiskQuota.MAX_INODES) {
                    throw error(e, "bad inode count " + ConfigError.quote(v) + ": expected " + DiskQuota.MIN_INODES + " to "
                            + DiskQuota.MAX_INODES);
                }
                return Long.parseLong(v);
            });
            return bytes == 0 ? DiskQuota.UNLIMITED : new DiskQuota(bytes, inodes);
        }

        private KsmRun ksmRun(IniDocument.Entry entry) throws ConfigError {
            return KsmRun.parse(entry.value()).orElseThrow(() -> error(entry, "expected 'auto' (start the host's ksmd"
                    + " when a vassal asks for ksm), 'on' (start it at start-up) or 'off' (leave it as it is), not "
                    + ConfigError.quote(entry.value())));
        }

        private boolean onExit(IniDocument.Entry entry) throws ConfigError {
            return switch (entry.value()) {
                case "stop" -> true;
                case "leave" -> false;
                default -> throw error(entry, "expected 'leave' (tenants keep running for the next emperor)"
                        + " or 'stop', not " + ConfigError.quote(entry.value()));
            };
        }

        private Cidr tunSubnet(IniDocument.Entry entry) throws ConfigError {
            return convert(entry, text -> TenantSubnet.parse(text).cidr());
        }

        private String tunGateway(IniDocument.Entry entry) throws ConfigError {
            if (!GATEWAY_NAME.matcher(entry.value()).matches()) {
                throw error(entry, "bad interface name " + ConfigError.quote(entry.value())
                        + ": 1 to 15 of a-z, 0-9 and '_' (it also names the nftables table emperor_NAME)");
            }
            return entry.value();
        }

        private ZoneId zone(IniDocument.Entry entry) throws ConfigError {
            try {
                return ZoneId.of(entry.value());
            } catch (java.time.DateTimeException e) {
                throw error(entry, "unknown time zone " + ConfigError.quote(entry.value())
                        + ": expected a region like Europe/Berlin, UTC or an offset like +02:00");
            }
        }

        private UidRange uidRange(IniDocument.Entry entry) throws ConfigError {
            Matcher m = UID_RANGE.matcher(entry.value());
            if (!m.matches()) {
                throw error(entry, "bad uid range " + ConfigError.quote(entry.value()) + ": expected FIRST-LAST, e.g. 100000-199999");
            }
            long first = Long.parseLong(m.group(1));
            long last = Long.parseLong(m.group(2));
            if (first < VassalValidator.MIN_ID || last > VassalValidator.MAX_ID) {
                throw error(entry, "uid range must lie within " + VassalValidator.MIN_ID + "-" + VassalValidator.MAX_ID);
            }
            if (first > last) {
                throw error(entry, "uid range is empty: " + first + " is above " + last);
            }
            if (first <= VassalValidator.NOBODY && VassalValidator.NOBODY <= last) {
                throw error(entry, "uid range includes " + VassalValidator.NOBODY + " ('nobody', shared with the host)");
            }
            return new UidRange((int) first, (int) last);
        }

        private Duration duration(IniDocument.Entry entry, Duration minimum) throws ConfigError {
            Duration duration = convert(entry, Units::parseDuration);
            if (duration.compareTo(minimum) < 0) {
                throw error(entry, "must be more than 0");
            }
            return duration;
        }

        /**
         * retain: whole days ("30", "30d"), or a shorter duration with its unit ("12h", "90m",
         * "2s") for tests and short trials. 0 purges a removed tenant as soon as it has stopped.
         */
        private Duration retain(IniDocument.Entry entry) throws ConfigError {
            String value = entry.value().strip();
            java.util.regex.Matcher days = java.util.regex.Pattern.compile("(\\d{1,6})\\s*d?").matcher(value);
            if (days.matches()) return Duration.ofDays(Long.parseLong(days.group(1)));
            try {
                return Units.parseDuration(value);
            } catch (IllegalArgumentException e) {
                throw error(entry, "bad retention " + ConfigError.quote(value) + ": expected days (30 or 30d, at most"
                        + " 999999) or a duration with its unit (12h, 90m, 2s)");
            }
        }

        private long size(IniDocument.Entry entry, long minimum) throws ConfigError {
            long size = convert(entry, Units::parseSize);
            if (size < minimum) {
                throw error(entry, ConfigError.quote(entry.value()) + " is too small: at least " + Units.formatSize(minimum));
            }
            return size;
        }

        private int logKeep(IniDocument.Entry entry) throws ConfigError {
            String value = entry.value();
            if (!value.matches("\\d{1,4}") || Integer.parseInt(value) > 1000) {
                throw error(entry, "bad count " + ConfigError.quote(value) + ": expected 0 to 1000");
            }
            return Integer.parseInt(value);
        }

        private <T> T convert(IniDocument.Entry entry, Function<String, T> parser) throws ConfigError {
            try {
                return parser.apply(entry.value());
            } catch (IllegalArgumentException e) {
                throw error(entry, e.getMessage());
            }
        }

        private ConfigError error(IniDocument.Entry entry, String problem) {
            return new ConfigError(file, entry.line(), entry.key(), problem);
        }
    }
}
