package dev.emperor.supervisor.shell;

import dev.emperor.jail.EnterSpec;
import dev.emperor.jail.ExitStatus;
import dev.emperor.jail.Jail;
import dev.emperor.jail.JailException;
import dev.emperor.jail.PidfdReaper;
import dev.emperor.jail.Stdio;
import dev.emperor.jail.TenantProcess;
import dev.emperor.jail.TenantTerminal;
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
 * <p>The JVM relays no bytes: a terminal session's pty master goes to the client with
 * SCM_RIGHTS and the client relays between it and its own terminal (and resizes it
 * directly); a command gets the client's own stdin, stdout and stderr (sshd's pipes) as its
 * fds 0-2, so output is binary-safe with no copy in between.
 */
final class ShellSession {
    private static final Logger log = LoggerFactory.getLogger(ShellSession.class);
    /** How long a client may take to send its request, and to take a reply. */
    private static final int IO_TIMEOUT_MILLIS = 10_000;
    /** After a terminal client vanished: time for the shell to end on SIGHUP before SIGKILL. */
    private static final int HANGUP_GRACE_MILLIS = 5_000;
    private static final int SIGHUP = 1;
    private static final int SIGKILL = 9;
    private static final int SIGCONT = 18;
    /** bash if the distro has it (as a login shell reads /etc/profile), else the POSIX sh. */
    private static final List<String> LOGIN_SHELL =
            List.of("/bin/sh", "-c", "command -v bash >/dev/null 2>&1 && exec bash -l; exec sh -l");

    private final int socket;
    private final Jail jail;
    private final PidfdReaper reaper;
    private final ShellTenants tenants;
    private final byte[] buf = new byte[ShellProtocol.MAX_FRAME];

    ShellSession(int socket, Jail jail, PidfdReaper reaper, ShellTenants tenants) {
        this.socket = socket;
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
            ShellSocket.Peer peer = ShellSocket.peer(socket);
            ShellSocket.timeouts(socket, IO_TIMEOUT_MILLIS);
            ShellSocket.Received first = ShellSocket.receive(socket, buf, 3);
            clientFds = first.fds();
            if (first.length() == 0) return; // connected and left
            ShellProtocol.Request request = ShellProtocol.request(ShellProtocol.frame(buf, first.length()), clientFds.size());
            ShellTenants.Target target = authorise(peer, request);

            exit = new ExitWatch();
            pty = request instanceof ShellProtocol.Terminal;
            if (request instanceof ShellProtocol.Terminal t) {
                terminal = jail.openTerminal(target.init(), target.uid(), target.gid(), t.rows(), t.cols());
                EnterSpec spec = TenantLauncher.enterSpec(target.config(), target.uid(), target.gid(), LOGIN_SHELL,
                        Map.of("TERM", t.term(), "SHELL", "/bin/sh"), true);
                int slave = terminal.slave();
                process = jail.enter(target.init(), spec, new Stdio(slave, slave, slave));
                terminal.closeSlave();
            } else {
                ShellProtocol.Command c = (ShellProtocol.Command) request;
                List<String> argv = c.command().isEmpty() ? LOGIN_SHELL : List.of("/bin/sh", "-c", c.command());
                EnterSpec spec = TenantLauncher.enterSpec(target.config(), target.uid(), target.gid(), argv,
                        Map.of("SHELL", "/bin/sh"), true);
                process = jail.enter(target.init(), spec, new Stdio(clientFds.get(0), clientFds.get(1), clientFds.get(2)));
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
            relay(process, exit, pty);
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
            ShellSocket.closeQuietly(socket);
        }
    }

    /** The tenant the caller asked for, if the kernel's word on who they are allows it. */
    private ShellTenants.Target authorise(ShellSocket.Peer peer, ShellProtocol.Request request)
            throws ShellTenants.NotEnterable {
        String name = request.tenant();
        if (name.isEmpty()) {
            if (peer.uid() == 0) throw new ShellTenants.NotEnterable("root must name the tenant: emperor shell NAME");
            Optional<String> own = tenants.tenantOfUid(peer.uid());
            if (own.isEmpty()) throw new ShellTenants.NotEnterable("no tenant runs as uid " + peer.uid());
            name = own.get();
        }
        ShellTenants.Target target = tenants.target(name);
        if (peer.uid() != 0 && peer.uid() != target.uid()) {
            log.warn("shell: refused uid {} (pid {}) entry to tenant {}", peer.uid(), peer.pid(), name);
            throw new ShellTenants.NotEnterable("permission denied: uid " + peer.uid() + " may not enter tenant " + name);
        }
        return target;
    }

    /** Waits for the process to exit or the client to go, forwarding the signals it asks for. */
    private void relay(TenantProcess process, ExitWatch exit, boolean pty) throws IOException {
        while (true) {
            int ready = ShellSocket.poll(-1, exit.readFd(), socket);
            if (ready == 0) {
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
