package dev.emperor.supervisor;

import dev.emperor.proxy.ConnectionLimits;
import dev.emperor.proxy.tls.CertificateRefused;
import dev.emperor.proxy.tls.CertificateStore;
import dev.emperor.supervisor.config.ConfigError;
import dev.emperor.supervisor.config.EmperorConfig;
import dev.emperor.supervisor.config.ProxySettings;
import dev.emperor.supervisor.ksm.HostKsm;
import dev.emperor.supervisor.network.TenantNetwork;
import dev.emperor.supervisor.status.StatusFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SIGHUP: re-reads emperor.ini and applies what may change while the emperor runs. A file that
 * changes a key only a restart can change, or that cannot be applied whole (a refused
 * platform certificate, a failed nft transaction, an open-file limit too low), is refused and
 * the running configuration kept. The decisions are static and pure, for the unit test.
 */
final class ConfigReload implements AutoCloseable {
    /** Emperor's logger: its lines read as they did before this class was split out of it. */
    private static final Logger log = LoggerFactory.getLogger(Emperor.class);

    private final Path configFile;
    private final AtomicReference<EmperorConfig> current;
    private final TenantNetwork network;
    private final FrontProxyWiring proxy;
    private final StatusFiles statusFiles;
    private final HostKsm ksm;
    /** Makes the control socket again if someone deleted it: a SIGHUP is how the operator reaches a daemon without it. */
    private final Runnable recreateControlSocket;
    private final AtomicBoolean reloadPending = new AtomicBoolean();
    private final ExecutorService reloads = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("sighup").daemon().factory());

    /** @param current the running configuration, which a successful reload replaces */
    ConfigReload(Path configFile, AtomicReference<EmperorConfig> current, TenantNetwork network, FrontProxyWiring proxy,
            StatusFiles statusFiles, HostKsm ksm, Runnable recreateControlSocket) {
        this.configFile = configFile;
        this.current = current;
        this.network = network;
        this.proxy = proxy;
        this.statusFiles = statusFiles;
        this.ksm = ksm;
        this.recreateControlSocket = recreateControlSocket;
    }

    /**
     * SIGHUP. The JDK runs each signal's handler on a thread of its own, so a burst of SIGHUPs
     * ran several reloads at once and could leave the listeners of one file and the
     * certificates of another. Reloads run one at a time on one thread; SIGHUPs that arrive
     * while one waits are folded into it, and each reload reads the file when it starts, so
     * the file as it was at the last SIGHUP is applied last, whole.
     */
    void request() {
        if (reloadPending.compareAndSet(false, true)) {
            reloads.execute(() -> {
                reloadPending.set(false); // a SIGHUP from now on asks for one more reload
                reload();
            });
        }
    }

    /** Re-reads emperor.ini; on error keeps the running configuration. Call through {@link #request}. */
    private synchronized void reload() {
        recreateControlSocket.run();
        EmperorConfig running = current.get();
        try {
            EmperorConfig fresh = EmperorConfig.load(configFile);
            if (!fixedKeysChanged(running, fresh).isEmpty()) {
                log.error("{}: vassals, state-dir, run-dir, tun-subnet and tun-gateway cannot change while the emperor runs;"
                        + " keeping the previous configuration (restart the emperor to change them)", configFile);
                return;
            }
            // Checked before anything is applied: a bad platform certificate keeps the old configuration whole.
            CertificateStore certificates;
            try {
                certificates = proxy.reloadedCertificates(running.proxy(), fresh.proxy());
            } catch (CertificateRefused | IOException e) {
                log.error("{}: tls-cert: {}; keeping the previous configuration", configFile, e.getMessage());
                return;
            }
            try {
                network.setHostServices(fresh.hostServices());
            } catch (RuntimeException e) {
                // nft replaces the table in one transaction: on failure the old rules still hold
                log.error("keeping the previous configuration: {}", e.getMessage());
                return;
            }
            Optional<String> fdProblem = fresh.proxy().clientLimits().fdLimitProblem(ConnectionLimits.openFileLimit());
            if (fdProblem.isPresent()) {
                log.error("{}: {}; keeping the previous configuration", configFile, fdProblem.get());
                return;
            }
            for (String key : restartOnlyKeysChanged(running.proxy(), fresh.proxy())) {
                log.warn("{}: {} changed: it takes effect when the emperor is restarted; still using the old value",
                        configFile, key);
            }
            ProxySettings listening = proxy.listenOn(running.proxy(), fresh.proxy());
            EmperorConfig now = applied(running, fresh, listening);
            current.set(now);
            statusFiles.use(now.statusDir());
            proxy.reloaded(now, running.proxy(), certificates);
            ksm.use(fresh.ksmRun());
            network.setRules(fresh.firewall());
            log.info("re-read {} ({} outbound and {} inbound firewall rules, host services open to tenants: {})", configFile,
                    fresh.firewall().out().size(), fresh.firewall().in().size(),
                    fresh.hostServices().isEmpty() ? "none" : fresh.hostServices());
        } catch (ConfigError e) {
            log.error("keeping the previous configuration: {}", e.getMessage());
        }
    }

    /**
     * The keys whose change a reload refuses (they name where the emperor's state and tenants
     * live): vassals, state-dir, run-dir, tun-subnet, tun-gateway.
     */
    static List<String> fixedKeysChanged(EmperorConfig running, EmperorConfig fresh) {
        List<String> changed = new ArrayList<>();
        if (!fresh.vassalsDir().equals(running.vassalsDir())) changed.add("vassals");
        if (!fresh.stateDir().equals(running.stateDir())) changed.add("state-dir");
        if (!fresh.runDir().equals(running.runDir())) changed.add("run-dir");
        if (!fresh.tunSubnet().equals(running.tunSubnet())) changed.add("tun-subnet");
        if (!fresh.tunGateway().equals(running.tunGateway())) changed.add("tun-gateway");
        return changed;
    }

    /** The keys a reload reads but only a restart applies (the public port range is fixed at start). */
    static List<String> restartOnlyKeysChanged(ProxySettings running, ProxySettings fresh) {
        boolean portRange = running.portLow() != fresh.portLow() || running.portHigh() != fresh.portHigh();
        return portRange ? List.of("port-range") : List.of();
    }

    /**
     * The configuration a reload puts in force: the fresh one, except the port range, which
     * stays as running, and the listeners, which are those the proxy listens on now ({@code listening}).
     */
    static EmperorConfig applied(EmperorConfig running, EmperorConfig fresh, ProxySettings listening) {
        return fresh.withProxy(fresh.proxy()
                .withListeners(listening.httpListen(), listening.httpsListen())
                .withPortRange(running.proxy().portLow(), running.proxy().portHigh()));
    }

    /**
     * Whether a reload needs a new certificate store: cert-dir or platform-domain changed, or
     * tls-cert was dropped (a store cannot forget its platform certificate). Otherwise the
     * running store reads the platform certificate again.
     */
    static boolean needsNewCertificateStore(ProxySettings running, ProxySettings fresh) {
        return !running.certDir().equals(fresh.certDir()) || !running.platformDomain().equals(fresh.platformDomain())
                || (running.tlsCert().isPresent() && fresh.tlsCert().isEmpty());
    }

    @Override
    public void close() {
        reloads.shutdownNow();
    }
}
