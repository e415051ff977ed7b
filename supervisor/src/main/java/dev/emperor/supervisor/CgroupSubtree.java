package dev.emperor.supervisor;

import dev.emperor.jail.cgroup.CgroupDriver;
import dev.emperor.jail.cgroup.Cgroups;
import dev.emperor.supervisor.config.EmperorConfig;
import dev.emperor.supervisor.state.StateStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Emperor's cgroup subtree at start-up: where it is, and whether the state database knows what runs in it. */
final class CgroupSubtree {
    /** Emperor's logger: its lines read as they did before this class was split out of it. */
    private static final Logger log = LoggerFactory.getLogger(Emperor.class);

    private CgroupSubtree() {}

    /**
     * {@code cgroup = emperor} names a subtree at the root of each hierarchy; an absolute path
     * such as {@code /system.slice/emperor.service/vassals} (a v2 host with systemd's
     * Delegate=yes) names the subtree's parent too.
     */
    static CgroupDriver open(String setting) throws IOException {
        if (!setting.startsWith("/")) return Cgroups.detect(setting);
        Path subtree = Path.of(setting);
        Path parent = Path.of("/sys/fs/cgroup").resolve(setting.substring(1)).getParent();
        CgroupDriver driver = Cgroups.detect(subtree.getFileName().toString(), parent);
        if (driver.version().equals("v2")) leaveDelegatedCgroup(parent);
        return driver;
    }

    /**
     * cgroup v2 forbids processes in a cgroup whose controllers are handed to children. When
     * systemd delegated our unit's cgroup (Delegate=yes) and we still sit in it, move the
     * whole emperor into a leaf of its own, "supervisor", next to the tenants' subtree.
     */
    private static void leaveDelegatedCgroup(Path parent) throws IOException {
        String own = Files.readAllLines(Path.of("/proc/self/cgroup")).stream()
                .filter(line -> line.startsWith("0::")).map(line -> line.substring(3)).findFirst().orElse("");
        Path ownDir = Path.of("/sys/fs/cgroup").resolve(own.replaceFirst("^/", ""));
        if (!ownDir.equals(parent)) return;
        Path leaf = Files.createDirectories(parent.resolve("supervisor"));
        Files.writeString(leaf.resolve("cgroup.procs"), "0");
        log.info("moved the emperor into {} (its delegated cgroup now only holds leaves)", leaf);
    }

    /**
     * Tenants running in our cgroup subtree that the state database has no row for mean the
     * database was emptied or replaced under them: starting would hand their uids, addresses
     * and public ports to other tenants. Refuse, naming them; the operator restores the
     * database or stops them (their processes are in the named cgroups).
     */
    static void refuseTenantsTheStoreDoesNotKnow(StateStore store, CgroupDriver cgroups, EmperorConfig config)
            throws IOException {
        List<String> unknown = new ArrayList<>();
        for (String tenant : cgroups.tenants()) {
            if (store.vassals().get(tenant).isPresent()) continue;
            boolean running = cgroups.open(tenant).map(c -> !c.pids().isEmpty()).orElse(false);
            if (running) unknown.add(tenant);
        }
        if (!unknown.isEmpty()) {
            store.close();
            throw new IOException("the cgroup subtree '" + config.cgroup() + "' holds running tenants that the state database in "
                    + config.stateDir() + " does not know: " + unknown + ". The database was emptied or replaced while they"
                    + " ran; starting would give their uids, addresses and ports to others. Restore the database, or stop"
                    + " those tenants (kill the processes in their cgroups), then start again.");
        }
    }
}
