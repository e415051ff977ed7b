package dev.emperor.supervisor.lifecycle;

import dev.emperor.jail.BindMount;
import dev.emperor.jail.EnterSpec;
import dev.emperor.jail.Jail;
import dev.emperor.jail.JailException;
import dev.emperor.jail.JailSpec;
import dev.emperor.jail.Stdio;
import dev.emperor.jail.TenantProcess;
import dev.emperor.jail.TenantVolume;
import dev.emperor.jail.cgroup.CgroupDriver;
import dev.emperor.jail.cgroup.CgroupStats;
import dev.emperor.jail.cgroup.TenantCgroup;
import dev.emperor.supervisor.config.ConfigError;
import dev.emperor.supervisor.config.EmperorConfig;
import dev.emperor.supervisor.config.VassalConfig;
import dev.emperor.supervisor.logs.TenantLogs;
import dev.emperor.supervisor.network.TenantNetwork;
import dev.emperor.tunrouter.FirewallRules;
import dev.emperor.supervisor.state.StateStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a tenant's configuration into a running jail: picks its uid, prepares its host-side
 * directories (run dir, home, log), builds the {@link JailSpec} and asks the {@link Jail} to
 * spawn it, with its {@code tun0} made by the spawn thread and attached to the
 * {@link TenantNetwork} afterwards. Also the supervisor's one door to kill and clean up a tenant.
 */
public final class TenantLauncher implements TenantResources {
    private static final Logger log = LoggerFactory.getLogger(TenantLauncher.class);
    private static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private final Supplier<EmperorConfig> config;
    private final StateStore store;
    private final Jail jail;
    private final CgroupDriver cgroups;
    private final TenantLogs logs;
    private final Path jailsDir;
    private final TenantNetwork network;

    public TenantLauncher(Supplier<EmperorConfig> config, StateStore store, Jail jail, CgroupDriver cgroups,
            TenantLogs logs, Path jailsDir, TenantNetwork network) {
        this.jailsDir = jailsDir;
        this.network = network;
        this.config = config;
        this.store = store;
        this.jail = jail;
        this.cgroups = cgroups;
        this.logs = logs;
    }

    /** A started payload and the credentials it runs with. */
    public record Spawned(TenantProcess process, int uid, int gid) {}

    /** Starts the tenant's payload; returns once it has been exec'd inside the jail. */
    public Spawned spawn(VassalConfig cfg) throws ConfigError {
        EmperorConfig emperor = config.get();
        String name = cfg.name();
        int uid = uidFor(cfg, emperor);
        int gid = cfg.gid().orElse(uid);
        Path runDir = emperor.runDir().resolve("vassals").resolve(name);
        Path homeDir = emperor.homeDir().resolve(name);
        TenantVolume volume = volume(name);
        if (cfg.disk().limited()) {
            // Home and /run on the tenant's own filesystem image: one bound for both (ENOSPC
            // past it), the host's disk never fills up through them.
            volume.mount(cfg.disk().bytes(), cfg.disk().inodes(), uid, gid);
        } else if (volume.imageExists()) {
            throw new ConfigError(cfg.source(), 0, "disk", "unlimited, but the tenant's files are in its disk image "
                    + volume.image() + ": set disk to a size (at least what it uses) instead");
        } else {
            ownedDirectory(runDir, uid, gid, "rwxr-xr-x");
            ownedDirectory(homeDir, uid, gid, "rwx------");
        }

        List<String> envList = environment(cfg, Map.of());

        Path distro = emperor.distroDir().resolve(cfg.distro());
        List<BindMount> binds = new ArrayList<>(cfg.binds());
        binds.addAll(accountFiles(name, distro, emperor.runDir().resolve("accounts").resolve(name), uid, gid, cfg.homePath()));
        JailSpec spec = JailSpec.builder().name(name).hostname(cfg.hostname()).distroRoot(distro).runDir(runDir)
                .homeDir(homeDir).homePath(cfg.homePath()).optDir(emperor.optDir().orElse(null)).tmpBytes(cfg.tmpBytes())
                .binds(binds).uid(uid).gid(gid).argv(cfg.argv()).env(envList).cwd(cfg.cwd())
                .limits(cfg.limits()).seccomp(cfg.seccompPolicy()).ksm(cfg.ksm()).build();

        TenantNetwork.Tun tun = network.prepare(name);
        int stdin = Jail.openDevNull();
        boolean started = false;
        try {
            // The tenant writes into a pipe, never into its log file (see TenantLogs); its pid 1
            // keeps the read end, so the pipe outlives an emperor restart.
            TenantLogs.PipeEnds pipe = logs.newPipe(name);
            TenantProcess process = jail.spawn(spec, new Stdio(stdin, pipe.writeFd(), pipe.writeFd(), pipe.readFd()), tun);
            try {
                network.attach(name, tun);
            } catch (RuntimeException e) {
                // A tenant must not run without the network it was promised: take it down again
                // (pid 1 first, reaped here since nobody watches it yet, then the rest).
                process.killAndReap();
                jail.destroy(name);
                throw new JailException("attach tun0 of " + name, e.getMessage(), e);
            }
            started = true;
            return new Spawned(process, uid, gid);
        } catch (java.io.IOException e) {
            tun.discard();
            throw new JailException("open log of " + name, e.getMessage(), e);
        } catch (JailException e) {
            tun.discard();
            removeMountPoint(name); // the jail undid everything else
            throw e;
        } finally {
            Jail.closeFd(stdin);
            if (!started) logs.detach(name); // what the failed spawn wrote is still read
        }
    }

    /**
     * Runs argv inside the running tenant whose pid 1 is init, like its payload: same uid, gid,
     * seccomp policy, environment and working directory, stdin /dev/null, stdout and stderr to
     * its log; in a session (and process group) of its own, so a time limit can reach its
     * children. Returns once it has been exec'd; the caller watches it.
     */
    public TenantProcess enter(TenantProcess init, VassalConfig cfg, int uid, int gid, List<String> argv) {
        EnterSpec spec = new EnterSpec(argv, environment(cfg, Map.of()), cfg.cwd(), uid, gid, List.of(), true, cfg.seccompPolicy());
        int stdin = Jail.openDevNull();
        try {
            // Into the tenant's log pipe, like the payload (a tenant that has none, started
            // before log pipes existed, writes to /dev/null).
            return logs.withWriteFd(cfg.name(), out -> {
                int fd = out >= 0 ? out : stdin;
                return jail.enter(init, spec, new Stdio(stdin, fd, fd));
            });
        } finally {
            Jail.closeFd(stdin);
        }
    }

    /** A process that entered the tenant under an earlier emperor, if it still runs there. */
    public Optional<TenantProcess> adoptEntered(TenantProcess init, int pid, long startTime) {
        return jail.adoptEntered(init, pid, startTime);
    }

    /**
     * The tenant's own account in its /etc/passwd and /etc/group: the distro's files plus one
     * line for the tenant, bound read-only over them. Tools that look up their own uid need it
     * (sftp-server and scp refuse to run without, bash's prompt says "I have no name!").
     * Written by root outside anything the tenant can write; skipped for a file the distro
     * does not have as a regular file (a symlink there is never followed on the host).
     */
    private static List<BindMount> accountFiles(String name, Path distro, Path dir, int uid, int gid, String home) {
        List<BindMount> binds = accountFileBinds(distro, dir);
        try {
            String shell = Files.isRegularFile(distro.resolve("usr/bin/bash"), LinkOption.NOFOLLOW_LINKS)
                    || Files.isRegularFile(distro.resolve("bin/bash"), LinkOption.NOFOLLOW_LINKS) ? "/bin/bash" : "/bin/sh";
            Map<String, String> lines = Map.of(
                    "passwd", name + ":x:" + uid + ":" + gid + ":" + name + ":" + home + ":" + shell + "\n",
                    "group", name + ":x:" + gid + ":\n");
            for (BindMount bind : binds) {
                String file = bind.source().getFileName().toString();
                Path original = distro.resolve("etc").resolve(file);
                Files.createDirectories(dir);
                StringBuilder content = new StringBuilder();
                for (String line : Files.readAllLines(original)) {
                    String[] fields = line.split(":", -1);
                    boolean clash = fields[0].equals(name) || (fields.length > 2 && fields[2].equals(
                            Integer.toString(file.equals("passwd") ? uid : gid)));
                    if (!clash) content.append(line).append('\n');
                }
                content.append(lines.get(file));
                Path tmp = dir.resolve("." + file + ".tmp");
                Files.writeString(tmp, content);
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
                Files.move(tmp, bind.source(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw new JailException("prepare /etc/passwd of " + name, e.toString(), e);
        }
        return binds;
    }

    /**
     * The binds of the tenant's account files (DIR/passwd, DIR/group, read-only over the
     * distro's), for those the distro has as regular files; nothing is written.
     * {@code emperor check -v} shows them in the tenant's mount plan.
     */
    public static List<BindMount> accountFileBinds(Path distro, Path dir) {
        List<BindMount> binds = new ArrayList<>();
        if (!Files.isDirectory(distro.resolve("etc"), LinkOption.NOFOLLOW_LINKS)) return binds;
        for (String file : List.of("passwd", "group")) {
            if (Files.isRegularFile(distro.resolve("etc").resolve(file), LinkOption.NOFOLLOW_LINKS)) {
                binds.add(new BindMount(dir.resolve(file), "/etc/" + file, false));
            }
        }
        return binds;
    }

    /**
     * What a command entered into the running tenant gets (a login shell, an ssh command):
     * the payload's environment plus {@code extraEnv}, its uid, gid and seccomp policy, the
     * tenant's home as working directory. {@code newSession}: its own session (and process
     * group), with a terminal stdin as its controlling tty.
     */
    public static EnterSpec enterSpec(VassalConfig cfg, int uid, int gid, List<String> argv,
            Map<String, String> extraEnv, boolean newSession) {
        return new EnterSpec(argv, environment(cfg, extraEnv), cfg.homePath(), uid, gid, List.of(), newSession,
                cfg.seccompPolicy());
    }

    /** The payload's environment: Emperor's defaults, then the vassal file's env, then extra. */
    private static List<String> environment(VassalConfig cfg, Map<String, String> extra) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", DEFAULT_PATH);
        env.put("HOME", cfg.homePath());
        env.put("USER", cfg.name());
        env.put("LOGNAME", cfg.name());
        env.put("LANG", "C.UTF-8");
        for (String pair : cfg.env()) {
            int eq = pair.indexOf('=');
            env.put(pair.substring(0, eq), pair.substring(eq + 1));
        }
        env.putAll(extra);
        List<String> list = new ArrayList<>();
        env.forEach((k, v) -> list.add(k + "=" + v));
        return list;
    }

    /**
     * Re-attaches to a payload that survived an emperor restart, if it is really ours, and to
     * its tun0. A tenant whose tun0 cannot be re-opened keeps running, without network.
     */
    public Optional<TenantProcess> adopt(String name, int pid, long startTime) {
        Optional<TenantProcess> live = jail.adopt(name, pid, startTime);
        if (live.isPresent()) {
            try {
                logs.adoptPipe(name, live.get());
            } catch (IOException e) {
                log.error("vassal {}: adopted without its log: {}", name, e.getMessage());
            }
            try {
                network.reattach(name, pid);
            } catch (RuntimeException e) {
                log.error("vassal {}: adopted without network: {}", name, e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                log.error("vassal {}: adopted without network: interrupted", name);
            }
        }
        return live;
    }

    /**
     * Kills every process in the cgroup of a tenant that has no watched pid 1 and removes the
     * cgroup (see {@link Jail#killLeftovers}); returns the pids it found there.
     */
    public java.util.Set<Integer> killLeftovers(String name) {
        return jail.killLeftovers(name);
    }

    /** Kills the payload and every other process of the tenant (grace period is over). */
    public void kill(String name, TenantProcess process) {
        process.signal(9);
        cgroups.open(name).ifPresent(this::killQuietly);
    }

    /**
     * After the payload's exit: no process, cgroup or mount point of the tenant remains. The
     * tenant's mounts lived in its own mount namespace and died with its last process; only
     * the empty host directory they were made on is left to remove.
     */
    public void cleanUp(String name) {
        logs.detach(name);
        try {
            network.detach(name);
        } catch (RuntimeException e) {
            log.error("vassal {}: detaching its tun0: {}", name, e.getMessage());
        }
        try {
            jail.destroy(name);
        } catch (JailException e) {
            log.error("vassal {}: {}", name, e.getMessage());
        }
        removeMountPoint(name);
    }

    /**
     * The tenant's disk image and where it is mounted: STATE-DIR/volumes/NAME.img on
     * RUN-DIR/volumes/NAME, its home/ and run/ seen at HOME-DIR/NAME and RUN-DIR/vassals/NAME.
     */
    private TenantVolume volume(String name) {
        EmperorConfig emperor = config.get();
        return new TenantVolume(name, emperor.stateDir().resolve("volumes").resolve(name + ".img"),
                emperor.runDir().resolve("volumes").resolve(name), emperor.homeDir().resolve(name),
                emperor.runDir().resolve("vassals").resolve(name));
    }

    /** How full the tenant's disk image is, while it is mounted. */
    public Optional<TenantVolume.Usage> diskUsage(String name) {
        try {
            return volume(name).usage();
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * The tenant's disk image off the host's mounts (the loop device detaches itself); the
     * image stays. For a tenant whose file is gone, or that the emperor takes down on exit:
     * a merely stopped or restarting tenant keeps its image mounted, so its home and /run
     * stay where sshd, the operator and the proxy look, and a respawn costs no mount.
     */
    public void releaseDisk(String name) {
        TenantVolume volume = volume(name);
        // Without an image nothing there is ours (an operator may mount a home of their own).
        if (!volume.imageExists()) return;
        try {
            volume.unmount();
        } catch (JailException e) {
            log.error("vassal {}: {}", name, e.getMessage());
        }
    }

    /**
     * A removed tenant's runtime files: its /run (RUN-DIR/vassals/NAME, once its disk image is
     * unmounted) and its generated passwd and group (RUN-DIR/accounts/NAME). Its home stays.
     * Its processes are gone by now, so nothing in the tree changes while it is deleted, and
     * links in it are deleted, never followed.
     */
    public void removeRuntimeFiles(String name) {
        EmperorConfig emperor = config.get();
        for (Path dir : List.of(emperor.runDir().resolve("vassals").resolve(name),
                emperor.runDir().resolve("accounts").resolve(name))) {
            try {
                deleteTree(dir);
            } catch (IOException e) {
                log.error("vassal {}: cannot remove {}: {}", name, dir, e.toString());
            }
        }
    }

    /** What a purged tenant's data is renamed to before it is deleted: no tenant name starts with a dot. */
    private static final String SET_ASIDE = ".purged-";

    /**
     * A purged tenant's data off its name, at once: its disk image unmounted and its loop
     * device gone (refused if the filesystem is still in use), then its home, the plain home kept from before its image, and the
     * image renamed to names no tenant can have. A tenant of the same name created right after
     * finds nothing. Deleting what was set aside ({@link #deleteSetAside}) can take a while and
     * happens afterwards; a crash in between leaves it to {@link #deleteLeftoversSetAside}.
     *
     * @param aside receives each path as it is set aside (also those set aside before a failure)
     * @throws JailException if the image cannot be unmounted (nothing renamed) or a rename fails
     */
    public void setAsideData(String name, List<Path> aside) {
        EmperorConfig emperor = config.get();
        TenantVolume volume = volume(name);
        volume.unmountAndWaitDetached(java.time.Duration.ofSeconds(10));
        removeRuntimeFiles(name);
        String stamp = SET_ASIDE + System.currentTimeMillis() + "-";
        for (Path data : List.of(emperor.homeDir().resolve(name), emperor.homeDir().resolve(name + ".pre-image"),
                volume.image())) {
            if (!Files.exists(data, LinkOption.NOFOLLOW_LINKS)) continue;
            Path target = data.resolveSibling(stamp + data.getFileName());
            try {
                // a rename, never a copy: a home still mounted over fails with EBUSY instead
                Files.move(data, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new JailException("set aside " + data + " of " + name, e.toString(), e);
            }
            aside.add(target);
        }
    }

    /** Deletes what {@link #setAsideData} moved aside; links in it are deleted, never followed. */
    public void deleteSetAside(List<Path> aside) {
        for (Path path : aside) {
            try {
                if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) deleteTree(path);
                else Files.deleteIfExists(path);
            } catch (IOException e) {
                log.error("cannot delete {} (a purged tenant's data): {}", path, e.toString());
            }
        }
    }

    /** At start: data of purges an earlier emperor did not finish deleting (it was set aside first). */
    public void deleteLeftoversSetAside() {
        EmperorConfig emperor = config.get();
        List<Path> found = new ArrayList<>();
        for (Path dir : List.of(emperor.homeDir(), emperor.stateDir().resolve("volumes"))) {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) continue;
            try (var entries = Files.newDirectoryStream(dir, SET_ASIDE + "*")) {
                entries.forEach(found::add);
            } catch (IOException e) {
                log.error("cannot list {}: {}", dir, e.toString());
            }
        }
        if (!found.isEmpty()) log.info("deleting data of earlier purges: {}", found);
        deleteSetAside(found);
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) return;
        Files.walkFileTree(dir, new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult visitFile(Path file, java.nio.file.attribute.BasicFileAttributes attrs)
                    throws IOException {
                Files.delete(file);
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null) throw e;
                Files.delete(d);
                return java.nio.file.FileVisitResult.CONTINUE;
            }
        });
    }

    private void removeMountPoint(String name) {
        try {
            Files.deleteIfExists(jailsDir.resolve(name));
        } catch (IOException e) {
            log.error("vassal {}: cannot remove its mount point {}: {}", name, jailsDir.resolve(name), e.toString());
        }
    }

    /** Something else that takes a tenant's live settings (the front proxy's routes). */
    public interface LiveSettingsListener {
        /** A valid file for the tenant (new or changed); called on the tenant's mailbox. */
        void apply(String name, VassalConfig cfg);

        /** The tenant's file is gone for good. */
        void forget(String name);
    }

    private volatile LiveSettingsListener liveSettingsListener;

    /** Registers the one listener for live settings (set before vassals are configured). */
    public void setLiveSettingsListener(LiveSettingsListener listener) {
        this.liveSettingsListener = listener;
    }

    /** Applies what a tenant's file sets that needs no restart: its own firewall rules, net-rate, web site and ports. */
    public void applyLiveSettings(String name, VassalConfig cfg) {
        network.setTenantRules(name, cfg.firewall());
        network.setTenantRate(name, cfg.netRate());
        LiveSettingsListener listener = liveSettingsListener;
        if (listener != null) listener.apply(name, cfg);
    }

    /** The tenant's file is gone for good. */
    public void forgetLiveSettings(String name) {
        network.setTenantRules(name, FirewallRules.NONE);
        network.setTenantRate(name, 0);
        LiveSettingsListener listener = liveSettingsListener;
        if (listener != null) listener.forget(name);
    }

    public Optional<TenantNetwork.Traffic> traffic(String name) {
        return network.traffic(name);
    }

    public Optional<CgroupStats> stats(String name) {
        try {
            return cgroups.open(name).map(TenantCgroup::stats);
        } catch (JailException e) {
            return Optional.empty();
        }
    }

    private void killQuietly(TenantCgroup cg) {
        try {
            cg.killAll();
        } catch (JailException e) {
            log.error("vassal {}: {}", cg.tenant(), e.getMessage());
        }
    }

    /** The tenant's uid: the one in its file (if no other tenant owns it), else its allocated one. */
    private int uidFor(VassalConfig cfg, EmperorConfig emperor) throws ConfigError {
        try {
            if (cfg.uid().isPresent()) {
                store.uids().claim(cfg.name(), cfg.uid().getAsInt());
                return cfg.uid().getAsInt();
            }
            return store.uids().allocate(cfg.name(), emperor.uidRange().first(), emperor.uidRange().last());
        } catch (IllegalStateException e) {
            throw new ConfigError(cfg.source(), 0, "uid", e.getMessage());
        }
    }

    private static void ownedDirectory(Path dir, int uid, int gid, String mode) {
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString(mode));
            }
            // Re-owned every spawn: a uid recorded in the file may have changed.
            Files.setAttribute(dir, "unix:uid", uid, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(dir, "unix:gid", gid, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new JailException("prepare " + dir, e.toString(), e);
        }
    }
}
