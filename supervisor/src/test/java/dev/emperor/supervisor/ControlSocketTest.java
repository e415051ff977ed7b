package dev.emperor.supervisor;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.emperor.supervisor.control.ControlClient;
import dev.emperor.supervisor.control.ControlHandler;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The control socket a SIGHUP makes again (the daemon's side: tests' ConfigReloadTest). */
class ControlSocketTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private final ControlHandler pong = request -> JSON.createObjectNode().put("ok", true).put("pong", true);

    @Test
    void aDeletedSocketIsMadeAgainAndAnswers() throws Exception {
        Path path = tmp.resolve("run/control.sock");
        try (ControlSocket socket = ControlSocket.open(path, pong)) {
            Files.delete(path);
            socket.recreateIfGone();
            assertThat(path).exists();
            assertThat(ControlClient.call(path, JSON.createObjectNode().put("cmd", "ping"))
                    .path("pong").asBoolean()).isTrue();
        }
    }

    @Test
    void aSocketStillThereIsLeftAlone() throws Exception {
        Path path = tmp.resolve("run/control.sock");
        try (ControlSocket socket = ControlSocket.open(path, pong)) {
            Object before = Files.readAttributes(path, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
            socket.recreateIfGone();
            assertThat(Files.readAttributes(path, java.nio.file.attribute.BasicFileAttributes.class).fileKey())
                    .isEqualTo(before);
        }
    }
}
