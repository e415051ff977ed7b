package dev.emperor.supervisor;

import dev.emperor.supervisor.control.ControlHandler;
import dev.emperor.supervisor.control.ControlServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The control socket of the CLI, which a SIGHUP makes again if someone deleted it. */
final class ControlSocket implements AutoCloseable {
    /** Emperor's logger: its lines read as they did before this class was split out of it. */
    private static final Logger log = LoggerFactory.getLogger(Emperor.class);

    private final ControlHandler handler;
    private volatile ControlServer server;

    private ControlSocket(ControlHandler handler, ControlServer server) {
        this.handler = handler;
        this.server = server;
    }

    static ControlSocket open(Path path, ControlHandler handler) throws IOException {
        return new ControlSocket(handler, ControlServer.start(path, handler));
    }

    /** A control socket someone deleted cannot be reached by path: listen on it again. */
    void recreateIfGone() {
        ControlServer running = server;
        if (Files.exists(running.socketPath(), LinkOption.NOFOLLOW_LINKS)) return;
        try {
            running.close();
            server = ControlServer.start(running.socketPath(), handler);
            log.warn("control socket {} had been deleted: listening on it again", running.socketPath());
        } catch (IOException e) {
            log.error("control socket {} was deleted and cannot be made again: {}", running.socketPath(), e.getMessage());
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
