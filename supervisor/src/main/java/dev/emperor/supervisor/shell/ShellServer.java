package dev.emperor.supervisor.shell;

import dev.emperor.jail.Jail;
import dev.emperor.jail.PidfdReaper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shell socket: where {@code emperor-shell} (sshd's ForceCommand) asks to enter a tenant.
 * Unlike the root-only control socket it is world-connectable (0666): who may enter which
 * tenant is decided per connection from the kernel's SO_PEERCRED, never from anything the
 * client says (a uid enters only the tenant that runs as that uid; root enters any).
 *
 * <p>One platform thread accepts; each session runs on a platform thread of its own, because
 * it blocks in native calls (poll, recvmsg) that would pin a virtual thread's carrier.
 */
public final class ShellServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ShellServer.class);

    private final Path path;
    private final int listenFd;
    private final Jail jail;
    private final PidfdReaper reaper;
    private final ShellTenants tenants;
    private final ShellAdmission admission = new ShellAdmission();
    private final Thread acceptor;
    private volatile boolean closed;

    private ShellServer(Path path, int listenFd, Jail jail, PidfdReaper reaper, ShellTenants tenants) {
        this.path = path;
        this.listenFd = listenFd;
        this.jail = jail;
        this.reaper = reaper;
        this.tenants = tenants;
        this.acceptor = Thread.ofPlatform().name("emperor-shell").daemon(true).unstarted(this::acceptLoop);
    }

    /** Binds path (a stale socket file there is replaced) and starts accepting. */
    public static ShellServer start(Path path, Jail jail, PidfdReaper reaper, ShellTenants tenants) throws IOException {
        removeStaleSocket(path);
        int fd = ShellSocket.listen(path);
        try {
            // Everyone may connect; SO_PEERCRED decides what they may do.
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-rw-rw-"));
        } catch (IOException e) {
            ShellSocket.closeQuietly(fd);
            throw e;
        }
        ShellServer server = new ShellServer(path, fd, jail, reaper, tenants);
        server.acceptor.start();
        log.info("shell socket listening on {}", path);
        return server;
    }

    private static void removeStaleSocket(Path path) throws IOException {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException e) {
            return;
        }
        // Only one emperor runs per state directory (its lock file); a socket here is a leftover.
        if (!attrs.isOther()) throw new IOException(path + " exists and is not a socket");
        Files.delete(path);
    }

    public Path path() {
        return path;
    }

    private void acceptLoop() {
        while (!closed) {
            int connection;
            try {
                connection = ShellSocket.accept(listenFd);
            } catch (IOException e) {
                if (closed) return;
                log.warn("shell socket: {}", e.getMessage());
                try {
                    Thread.sleep(100); // e.g. out of fds: do not spin on the error
                } catch (InterruptedException interrupted) {
                    return;
                }
                continue;
            }
            ShellSocket.Peer peer;
            ShellAdmission.Ticket ticket;
            try {
                peer = ShellSocket.peer(connection);
            } catch (IOException e) {
                ShellSocket.closeQuietly(connection);
                continue;
            }
            try {
                ticket = admission.admit(peer.uid());
            } catch (ShellAdmission.Refused e) {
                // debug only: a flooding local user must not flood the log too
                log.debug("shell: refused a connection of uid {} (pid {}): {}", peer.uid(), peer.pid(), e.getMessage());
                ShellSession.refuse(connection, e.getMessage());
                continue;
            }
            Thread.ofPlatform().name("emperor-shell-session").daemon(true).start(() -> {
                try (ticket) {
                    new ShellSession(connection, peer, ticket, jail, reaper, tenants).run();
                }
            });
        }
    }

    /** Stops accepting and removes the socket file; running sessions go on to their end. */
    @Override
    public void close() throws IOException {
        if (closed) return;
        closed = true;
        ShellSocket.shutdown(listenFd);
        try {
            acceptor.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ShellSocket.closeQuietly(listenFd);
        Files.deleteIfExists(path);
    }
}
