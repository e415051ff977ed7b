package dev.emperor.supervisor.shell;

import dev.emperor.jail.EnterSpec;
import dev.emperor.jail.ExitStatus;
import dev.emperor.jail.Jail;
import dev.emperor.jail.JailException;
import dev.emperor.jail.PidfdReaper;
import dev.emperor.jail.Stdio;
import dev.emperor.jail.TenantProcess;
import dev.emperor.jail.TenantTerminal;
import dev.emperor.jail.cgroup.SessionCgroup;
import dev.emperor.supervisor.lifecycle.TenantLauncher;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection on the shell socket, top to bottom: who is calling (SO_PEERCRED), what they
 * ask for (one checked frame), may they (their own tenant, or root), start the process inside
 * the tenant, hand over the terminal, then wait for either its exit (sent back as EXIT) or
 * the client's departure (the process group is hung up, then killed).
 *
 * <p>The JVM relays no bytes: a pty master (a login, or a command's streams that are the
 * client's terminal) goes to the client with SCM_RIGHTS and the client relays between it and
 * its own terminal (and resizes it directly); a command's other streams are the fds the
 * client passed (sshd's pipes, or pipes root's client relays), binary-safe with no copy in
 * between. A passed fd that is a terminal is refused: the caller's terminal never enters.
 * Root's sessions run in a session cgroup that is emptied when they end, before EXIT.
 */
final class ShellSession {
    private static final Logger log = LoggerFactory.getLogger(ShellSession.class);
    /** How long a client may take to send its request, and to take a reply. */
    static final int PENDING_TIMEOUT_MILLIS = 10_000;
    /** After a terminal client vanished: time for the shell to end on SIGHUP before SIGKILL. */
    private static final int HANGUP_GRACE_MILLIS = 5_000;
    private static final int SIGHUP = 1;
    private static final int SIGKILL = 9;
    private static final int SIGCONT = 18;
    /** bash if the distro has it (as a login shell reads /etc/profile), else the POSIX sh. */
    private static final List<String> LOGIN_SHELL =
            List.of("/bin/sh", "-c", "command -v bash >/dev/null 2>&1 && exec bash -l; exec sh -l");

    private final int socket;
    private final ShellSocket.Peer peer;
    private final ShellAdmission.Ticket ticket;
    private final Jail jail;
    private final PidfdReaper reaper;
    private final ShellTenants tenants;
    private final byte[] buf = new byte[ShellProtocol.MAX_FRAME];
    /** Root's session cgroup, or null (a tenant's own sessions stay in its cgroup). */
    private SessionCgroup session;

    ShellSession(int socket, ShellSocket.Peer peer, ShellAdmission.Ticket ticket, Jail jail, PidfdReaper reaper,
            ShellTenants tenants) {
        this.socket = socket;
        this.peer = peer;
        this.ticket = ticket;
        this.jail = jail;
        this.reaper = reaper;
        this.tenants = tenants;
    }

    /** Tells a client we cannot serve it, and hangs up. */
    static void refuse(int socket, String message) {
        try {
            ShellSocket.timeouts(socket, 1000);
            ShellSocket.send(socket, ShellProtocol.error(message), -1);
        } catch (IOException ignored) {
            // the client left already
        } finally {
            ShellSocket.closeQuietly(socket);
        }
    }

    void run() {
        List<Integer> clientFds = List.of();
        TenantTerminal terminal = null;
        TenantProcess process = null;
        ExitWatch exit = null;
        boolean pty = false;
        try {
            ShellSocket.timeouts(socket, PENDING_TIMEOUT_MILLIS);
            ShellSocket.Received first = ShellSocket.receive(socket, buf, 3);
            clientFds = first.fds();
            if (first.length() == 0) return; // connected and left
            ShellProtocol.Request request = ShellProtocol.request(ShellProtocol.frame(buf, first.length()), clientFds.size());
            ShellTenants.Target target = authorise(peer, request);
            ticket.started();

            for (int fd : clientFds) {
                // The caller's terminal never enters a tenant: a process holding it could read
                // what is typed there after the session (the client asks for a pty instead).
                if (ShellSocket.isTerminal(fd)) throw new ShellProtocol.BadFrame("a terminal was passed; it is never given to a tenant");
            }

            exit = new ExitWatch();
            // Root's sessions get a cgroup of their own, killed when the session ends: nothing
            // an operator started in a tenant (setsid, double fork, nohup) outlives the session.
            if (peer.uid() == 0) session = jail.newSessionCgroup(target.init().tenant(), sessionName());
            if (request instanceof ShellProtocol.Terminal t) {
                pty = true;
                terminal = jail.openTerminal(target.init(), target.uid(), target.gid(), t.rows(), t.cols());
                EnterSpec spec = TenantLauncher.enterSpec(target.config(), target.uid(), target.gid(), LOGIN_SHELL,
                        Map.of("TERM", t.term(), "SHELL", "/bin/sh"), true);
                int slave = terminal.slave();
                process = jail.enter(target.init(), spec, new Stdio(slave, slave, slave), session);
                terminal.closeSlave();
            } else {
                ShellProtocol.Command c = (ShellProtocol.Command) request;
                List<String> argv = c.command().isEmpty() ? LOGIN_SHELL : List.of("/bin/sh", "-c", c.command());
                Map<String, String> env = Map.of("SHELL", "/bin/sh");
                int[] std = new int[3];
                if (c.terminals() != 0) {
                    pty = true;
                    terminal = jail.openTerminal(target.init(), target.uid(), target.gid(), c.rows(), c.cols());
                    env = Map.of("SHELL", "/bin/sh", "TERM", c.term());
                }
                for (int i = 0, next = 0; i < 3; i++) {
                    std[i] = (c.terminals() & (1 << i)) != 0 ? terminal.slave() : clientFds.get(next++);
                }
                EnterSpec spec = TenantLauncher.enterSpec(target.config(), target.uid(), target.gid(), argv, env, true);
                process = jail.enter(target.init(), spec, new Stdio(std[0], std[1], std[2]), session);
                if (terminal != null) terminal.closeSlave();
            }
            clientFds.forEach(ShellSocket::closeQuietly); // the process has its own copies
            clientFds = List.of();
            reaper.watch(process, exit::exited);
            log.info("shell: uid {} (pid {}) entered tenant {}{}: pid {}", peer.uid(), peer.pid(),
                    target.init().tenant(), pty ? " with a terminal" : "", process.pid());

            ShellSocket.send(socket, ShellProtocol.started(), pty ? terminal.master() : -1);
            if (terminal != null) {
                terminal.close(); // the client holds the master now; its last close hangs the tty up
                terminal = null;
            }
            relay(process, exit, pty, session);
        } catch (ShellProtocol.BadFrame e) {
            log.info("shell: bad request: {}", e.getMessage());
            reply(ShellProtocol.error("bad request: " + e.getMessage()));
        } catch (ShellTenants.NotEnterable e) {
            reply(ShellProtocol.error(e.getMessage()));
        } catch (JailException | IllegalArgumentException e) {
            log.warn("shell: {}", e.getMessage());
            reply(ShellProtocol.error("cannot enter: " + e.getMessage()));
        } catch (IOException e) {
            log.debug("shell: connection failed: {}", e.getMessage());
            if (process != null) hangUp(process, exit, pty);
        } catch (RuntimeException e) {
            log.error("shell: session failed", e);
            if (process != null) hangUp(process, exit, pty);
            reply(ShellProtocol.error("internal error"));
        } finally {
            clientFds.forEach(ShellSocket::closeQuietly);
            if (terminal != null) terminal.close();
            if (process != null) process.close(); // the reaper keeps its own pidfd and reaps
            if (exit != null) exit.close();
            endSession(session);
            ShellSocket.closeQuietly(socket);
        }
    }

    /**
     * The tenant the caller asked for, if the kernel's word on who they are allows it. A
     * non-root caller may only ever enter the tenant of its own uid, so that is looked up
     * first and a name that is not it gets one answer, the same whether that tenant exists,
     * runs or not: the socket tells a local user nothing about other tenants' names.
     */
    private ShellTenants.Target authorise(ShellSocket.Peer peer, ShellProtocol.Request request)
            throws ShellTenants.NotEnterable {
        String asked = request.tenant();
        if (peer.uid() == 0) {
            if (asked.isEmpty()) throw new ShellTenants.NotEnterable("root must name the tenant: emperor shell NAME");
            return tenants.target(asked);
        }
        Optional<String> own = tenants.tenantOfUid(peer.uid());
        if (!asked.isEmpty() && !own.equals(Optional.of(asked))) {
            log.warn("shell: refused uid {} (pid {}) entry to tenant {}", peer.uid(), peer.pid(), asked);
            throw new ShellTenants.NotEnterable(notYours(peer.uid()));
        }
        if (own.isEmpty()) throw new ShellTenants.NotEnterable("no tenant runs as uid " + peer.uid());
        ShellTenants.Target target = tenants.target(own.get());
        // The uid was the tenant's when looked up; a reload may have changed it since.
        if (target.uid() != peer.uid()) throw new ShellTenants.NotEnterable(notYours(peer.uid()));
        return target;
    }

    /** Names no tenant: the same bytes whichever name was asked for. */
    static String notYours(int uid) {
        return "permission denied: uid " + uid + " may enter only the tenant that runs as uid " + uid;
    }

    /**
     * Waits for the process to exit or the client to go, forwarding the signals it asks for.
     * A root session's cgroup is emptied before EXIT goes out: the client then reads its
     * pipes to their end, every writer being gone.
     */
    private void relay(TenantProcess process, ExitWatch exit, boolean pty, SessionCgroup session) throws IOException {
        while (true) {
            int ready = ShellSocket.poll(-1, exit.readFd(), socket);
            if (ready == 0) {
                endSession(session);
                ShellSocket.send(socket, ShellProtocol.exit(exit.code()), -1);
                return;
            }
            ShellSocket.Received got;
            try {
                got = ShellSocket.receive(socket, buf, 0);
                if (got.length() == 0) {
                    log.info("shell: client of tenant {} left; hanging up pid {}", process.tenant(), process.pid());
                    hangUp(process, exit, pty);
                    return;
                }
                int sig = ShellProtocol.signal(ShellProtocol.frame(buf, got.length()), got.fds().size());
                signalGroup(process, sig);
            } catch (ShellProtocol.BadFrame e) {
                log.info("shell: bad frame from the client of tenant {}: {}", process.tenant(), e.getMessage());
                hangUp(process, exit, pty);
                reply(ShellProtocol.error("bad request: " + e.getMessage()));
                return;
            }
        }
    }

    /**
     * The client is gone: a terminal session ends as on a real hang-up (SIGHUP, then SIGKILL
     * if it is still there after a grace period); a command is killed. Only the entered
     * process group is touched, never the rest of the tenant.
     */
    private static void hangUp(TenantProcess process, ExitWatch exit, boolean pty) {
        if (pty) {
            signalGroup(process, SIGHUP);
            signalGroup(process, SIGCONT);
            try {
                if (exit != null && ShellSocket.poll(HANGUP_GRACE_MILLIS, exit.readFd()) == 0) return;
            } catch (IOException e) {
                // fall through to the kill
            }
        }
        signalGroup(process, SIGKILL);
    }

    /**
     * Signals the entered process's group (it is a session and group leader, so the group's id
     * is its pid). Only while it has not exited: until it is reaped its pid, and so the group
     * id, cannot belong to anyone else.
     */
    private static void signalGroup(TenantProcess process, int sig) {
        if (!process.isClosed() && process.isAlive()) ShellSocket.kill(-process.pid(), sig);
    }

    private static String sessionName() {
        return "shell-" + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong() >>> 1);
    }

    /** Kills whatever the session left in its cgroup and removes it (once; null = none). */
    private void endSession(SessionCgroup cgroup) {
        if (cgroup == null || cgroup != session) return;
        session = null;
        try {
            cgroup.close();
        } catch (JailException e) {
            log.warn("shell: ending a root session: {}", e.getMessage());
        }
    }

    private void reply(byte[] frame) {
        try {
            ShellSocket.send(socket, frame, -1);
        } catch (IOException ignored) {
            // the client left: nothing to tell
        }
    }

    /** The entered process's exit, as the reaper reports it, turned into a readable pipe. */
    private static final class ExitWatch {
        private final int[] pipe;
        private volatile int code = -1;
        private boolean closed;

        ExitWatch() throws IOException {
            pipe = ShellSocket.pipe();
        }

        synchronized void exited(ExitStatus status) {
            code = status.signal() != 0 ? 128 + status.signal() : Math.max(0, Math.min(255, status.code()));
            if (!closed) ShellSocket.writeByte(pipe[1]);
        }

        int readFd() {
            return pipe[0];
        }

        int code() {
            return code;
        }

        synchronized void close() {
            closed = true;
            ShellSocket.closeQuietly(pipe[0]);
            ShellSocket.closeQuietly(pipe[1]);
        }
    }
}
