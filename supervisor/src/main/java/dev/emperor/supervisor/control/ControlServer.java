package dev.emperor.supervisor.control;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.Objects;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The emperor's control socket: a unix socket on which root (the CLI, a control panel) sends
 * one JSON request line and reads one JSON response line (the protocol: docs/API.md).
 *
 * <p>Only the emperor's own uid (root) may use it. The socket file is mode 0600, but the check
 * that counts is the kernel's word on who connected (SO_PEERCRED), made before a byte of the
 * request is read: file modes can be loosened by mistake, credentials cannot be faked.
 *
 * <p>Connections are accepted on one platform thread and each is served on its own virtual
 * thread, so a slow client never holds up another.
 */
public final class ControlServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ControlServer.class);

    private static final long LINGER_MILLIS = 2_000;
    private static final long LINGER_MAX_BYTES = 4L << 20;

    static final String NOT_ROOT = "permission denied: control socket is root-only";

    private final Path socketPath;
    private final ServerSocketChannel server;
    private final ControlHandler handler;
    private final UserPrincipal allowedUser;
    private final Thread acceptor;
    private volatile boolean closed;

    private ControlServer(Path socketPath, ServerSocketChannel server, ControlHandler handler, UserPrincipal allowedUser) {
        this.socketPath = socketPath;
        this.server = server;
        this.handler = handler;
        this.allowedUser = allowedUser;
        this.acceptor = Thread.ofPlatform().name("emperor-control").daemon(true).unstarted(this::acceptLoop);
    }

    /**
     * Binds {@code socketPath} and starts serving. A socket file left by an emperor that died
     * is replaced; one that still answers means another emperor is running.
     */
    public static ControlServer start(Path socketPath, ControlHandler handler) throws IOException {
        Objects.requireNonNull(handler, "handler");
        Path dir = socketPath.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        removeStaleSocket(socketPath);

        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(socketPath));
            // Between bind and chmod the socket has the umask's mode; harmless, because every
            // connection is checked with SO_PEERCRED anyway.
            Files.setPosixFilePermissions(socketPath, PosixFilePermissions.fromString("rw-------"));
            // The socket file is owned by the uid we run as (root): that uid alone is let in.
            UserPrincipal self = Files.getOwner(socketPath, LinkOption.NOFOLLOW_LINKS);
            ControlServer control = new ControlServer(socketPath, server, handler, self);
            control.acceptor.start();
            log.info("control socket listening on {}", socketPath);
            return control;
        } catch (IOException | RuntimeException e) {
            server.close();
            Files.deleteIfExists(socketPath);
            throw new IOException("cannot listen on control socket " + socketPath + ": " + e.getMessage(), e);
        }
    }

    private static void removeStaleSocket(Path socketPath) throws IOException {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(socketPath, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException e) {
            return;
        }
        // Sockets are "other" files; never delete a regular file, directory or symlink that
        // happens to sit at the configured path.
        if (!attrs.isOther()) {
            throw new IOException(socketPath + " exists and is not a socket");
        }
        SocketChannel probe;
        try {
            probe = SocketChannel.open(UnixDomainSocketAddress.of(socketPath));
        } catch (ConnectException refused) {
            log.info("removing stale control socket {}", socketPath);
            Files.delete(socketPath);
            return;
        }
        probe.close();
        throw new IOException("another emperor is running on " + socketPath);
    }

    /** The socket's path. */
    public Path socketPath() {
        return socketPath;
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel connection;
            try {
                connection = server.accept();
            } catch (ClosedChannelException e) { // includes AsynchronousCloseException from close()
                return;
            } catch (IOException e) {
                // e.g. out of file descriptors: wait a little rather than spin on the error.
                log.warn("control socket: accept failed: {}", e.getMessage());
                try {
                    Thread.sleep(100);
                } catch (InterruptedException interrupted) {
                    return;
                }
                continue;
            }
            Thread.ofVirtual().name("emperor-control-connection").start(() -> serve(connection));
        }
    }

    private void serve(SocketChannel connection) {
        try (connection) {
            OutputStream out = Channels.newOutputStream(connection);
            UnixDomainPrincipal peer = connection.getOption(ExtendedSocketOptions.SO_PEERCRED);
            if (!allowedUser.equals(peer.user())) {
                log.warn("control socket: refused connection from user {}", peer.user().getName());
                out.write(ControlProtocol.toReplyLine(ControlProtocol.error(NOT_ROOT)));
                return;
            }
            out.write(ControlProtocol.toReplyLine(respond(connection)));
            drainBeforeClose(connection);
        } catch (IOException e) {
            log.debug("control socket: connection failed: {}", e.getMessage());
        }
    }

    /**
     * Reads and drops what the client still sends (a refused over-long line, a second line),
     * up to a bound and a deadline. Closing a unix socket with unread bytes makes the kernel
     * reset it, and the client would then lose the reply it has not read yet.
     */
    private static void drainBeforeClose(SocketChannel connection) {
        Thread deadline = Thread.ofVirtual().name("emperor-control-linger").start(() -> {
            try {
                Thread.sleep(LINGER_MILLIS);
                connection.close(); // unblocks the read below
            } catch (InterruptedException | IOException e) {
                // drained in time, or already closed
            }
        });
        try {
            connection.shutdownOutput();
            ByteBuffer sink = ByteBuffer.allocate(8192);
            long drained = 0;
            while (drained < LINGER_MAX_BYTES) {
                int read = connection.read(sink.clear());
                if (read < 0) {
                    break;
                }
                drained += read;
            }
        } catch (IOException e) {
            // the client closed or reset first, or the deadline closed the channel: done either way
        } finally {
            deadline.interrupt();
        }
    }

    private ObjectNode respond(SocketChannel connection) throws IOException {
        ObjectNode request;
        try {
            InputStream in = new BufferedInputStream(Channels.newInputStream(connection));
            byte[] line = ControlProtocol.readLine(in, ControlProtocol.MAX_REQUEST_BYTES);
            if (line == null) {
                throw new ControlProtocol.BadMessage("empty request");
            }
            request = ControlProtocol.parseObject(line);
        } catch (ControlProtocol.BadMessage e) {
            return ControlProtocol.error("bad request: " + e.getMessage());
        }
        String versionProblem = ControlProtocol.unsupportedVersion(request);
        if (versionProblem != null) return ControlProtocol.error(versionProblem);
        String renderProblem = TextReplies.refusal(request);
        if (renderProblem != null) return ControlProtocol.error(renderProblem);
        ObjectNode reply = handle(request);
        if (!TextReplies.wanted(request)) return reply;
        try {
            return TextReplies.render(request, reply);
        } catch (RuntimeException e) {
            // a bug: still a text answer, or the native client would hand the (done) command to the JVM CLI
            log.warn("control request {}: cannot render the reply {} as text", request, reply, e);
            return new CliText(1, "", "emperor: cannot render the reply as text: " + e + "\n")
                    .addTo(ControlProtocol.error("cannot render the reply as text: " + e));
        }
    }

    private ObjectNode handle(ObjectNode request) {
        try {
            ObjectNode response = handler.handle(request);
            if (response == null) {
                throw new IllegalStateException("no response for " + request);
            }
            return response;
        } catch (Exception e) {
            if (e instanceof IllegalArgumentException || e instanceof IllegalStateException || e instanceof IOException) {
                log.info("control request {} failed: {}", request, e.getMessage()); // the caller's mistake or a refusal
            } else {
                log.warn("control request {} failed", request, e); // a bug: keep the stack trace
            }
            String message = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
            return ControlProtocol.error(message);
        }
    }

    /** Stops accepting, removes the socket file; requests being served are finished. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        server.close();
        try {
            acceptor.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Files.deleteIfExists(socketPath);
    }
}
