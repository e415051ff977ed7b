package dev.emperor.supervisor.control;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/** Sends one request to a running emperor's control socket and returns its response. */
public final class ControlClient {

    private ControlClient() {}

    /**
     * Sends {@code request} and returns the emperor's response as is, including
     * {@code {"ok":false,...}} answers. Throws only when no answer could be had.
     */
    public static ObjectNode call(Path socket, ObjectNode request) throws IOException {
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("emperor is not running (no control socket at " + socket + ")");
        }
        try (SocketChannel channel = connect(socket)) {
            IOException writeFailure = null;
            try {
                Channels.newOutputStream(channel).write(ControlProtocol.toLine(request));
                channel.shutdownOutput();
            } catch (IOException e) {
                // The emperor may answer (a refusal) and close before reading the request:
                // its answer is still waiting to be read.
                writeFailure = e;
            }
            var in = new BufferedInputStream(Channels.newInputStream(channel));
            byte[] line = ControlProtocol.readLine(in, ControlProtocol.MAX_RESPONSE_BYTES);
            if (line == null) {
                throw new IOException("emperor closed the control connection without answering"
                        + (writeFailure != null ? " (" + writeFailure.getMessage() + ")" : ""));
            }
            return ControlProtocol.parseObject(line);
        } catch (ControlProtocol.BadMessage e) {
            throw new IOException("bad response from emperor on " + socket + ": " + e.getMessage());
        }
    }

    /**
     * Like {@link #call(Path, ObjectNode)}, but gives up after {@code timeout}: for requests
     * the emperor may take long to answer (an ACME issuance waits for a CA).
     */
    public static ObjectNode call(Path socket, ObjectNode request, java.time.Duration timeout) throws IOException {
        var result = new java.util.concurrent.CompletableFuture<ObjectNode>();
        Thread caller = Thread.ofVirtual().name("emperor-control-call").start(() -> {
            try {
                result.complete(call(socket, request));
            } catch (IOException | RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
        try {
            return result.get(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            caller.interrupt(); // closes its channel: the emperor sees the client gone
            throw new IOException("no answer from the emperor within " + timeout.toSeconds() + "s");
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof IOException io) throw io;
            throw new IOException(e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the emperor");
        }
    }

    private static SocketChannel connect(Path socket) throws IOException {
        try {
            return SocketChannel.open(UnixDomainSocketAddress.of(socket));
        } catch (ConnectException e) {
            throw new IOException("emperor is not running (stale control socket at " + socket + ")", e);
        } catch (SocketException e) {
            if (String.valueOf(e.getMessage()).contains("Permission denied")) {
                throw new IOException("permission denied on control socket " + socket + " (run as root)", e);
            }
            throw new IOException("cannot connect to control socket " + socket + ": " + e.getMessage(), e);
        }
    }
}
