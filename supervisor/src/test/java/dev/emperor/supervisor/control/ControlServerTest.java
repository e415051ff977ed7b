package dev.emperor.supervisor.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ControlServerTest {

    @TempDir
    Path tmp;

    ControlServer server;
    final AtomicInteger handled = new AtomicInteger();

    /** Answers {"ok":true,"echo":REQUEST}; {"op":"fail"} throws. */
    final ControlHandler echo = request -> {
        handled.incrementAndGet();
        if (request.path("op").asText().equals("fail")) {
            throw new IllegalArgumentException("no vassal named ghost");
        }
        ObjectNode response = ControlProtocol.JSON.createObjectNode();
        response.put("ok", true);
        response.set("echo", request);
        return response;
    };

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.close();
        }
    }

    private Path socket() {
        return tmp.resolve("run/emperor/control.sock");
    }

    private static ObjectNode request(String op) {
        return ControlProtocol.JSON.createObjectNode().put("op", op);
    }

    /** Sends raw bytes and returns the reply line, as a client that does not use ControlClient. */
    private JsonNode sendRaw(byte[] bytes) throws IOException {
        try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket()))) {
            Channels.newOutputStream(channel).write(bytes);
            channel.shutdownOutput();
            byte[] reply = Channels.newInputStream(channel).readAllBytes();
            String text = new String(reply, StandardCharsets.UTF_8);
            assertThat(text).endsWith("\n").containsOnlyOnce("\n");
            return ControlProtocol.JSON.readTree(text);
        }
    }

    @Test
    void answersARequestWithTheHandlersResponse() throws IOException {
        server = ControlServer.start(socket(), echo);
        ObjectNode response = ControlClient.call(socket(), request("status").put("name", "alice"));
        assertThat(response.get("ok").asBoolean()).isTrue();
        assertThat(response.get("echo").get("name").asText()).isEqualTo("alice");
    }

    /** docs/API.md: every reply, an error too, carries the protocol version. */
    @Test
    void everyReplyCarriesTheProtocolVersion() throws IOException {
        server = ControlServer.start(socket(), echo);
        assertThat(sendRaw("{\"op\":\"status\"}\n".getBytes(StandardCharsets.UTF_8)).get("version").asInt()).isEqualTo(2);
        JsonNode error = sendRaw("not json\n".getBytes(StandardCharsets.UTF_8));
        assertThat(error.get("ok").asBoolean()).isFalse();
        assertThat(error.get("version").asInt()).isEqualTo(ControlProtocol.VERSION).isEqualTo(2);
    }

    /** A client written for version 1 (or naming none) is served as before; version 2 too. */
    @Test
    void aRequestForVersionOneTwoOrNoneIsServed() throws IOException {
        server = ControlServer.start(socket(), echo);
        assertThat(sendRaw("{\"op\":\"status\",\"version\":1}\n".getBytes(StandardCharsets.UTF_8)).get("ok").asBoolean()).isTrue();
        assertThat(sendRaw("{\"op\":\"status\",\"version\":2}\n".getBytes(StandardCharsets.UTF_8)).get("ok").asBoolean()).isTrue();
        assertThat(sendRaw("{\"op\":\"status\"}\n".getBytes(StandardCharsets.UTF_8)).get("ok").asBoolean()).isTrue();
        assertThat(handled.get()).isEqualTo(3);
    }

    /** A request for a newer protocol is refused whole, not half-understood by the handler. */
    @Test
    void aRequestForANewerOrBadVersionIsRefusedBeforeTheHandler() throws IOException {
        server = ControlServer.start(socket(), echo);
        JsonNode newer = sendRaw("{\"op\":\"status\",\"version\":3}\n".getBytes(StandardCharsets.UTF_8));
        assertThat(newer.get("ok").asBoolean()).isFalse();
        assertThat(newer.get("error").asText()).isEqualTo("unsupported protocol version 3: this emperor speaks version 2");
        JsonNode bad = sendRaw("{\"op\":\"status\",\"version\":\"1\"}\n".getBytes(StandardCharsets.UTF_8));
        assertThat(bad.get("error").asText()).isEqualTo("bad request: \"version\" must be a positive integer, got \"1\"");
        assertThat(handled.get()).isZero();
    }

    @Test
    void socketIsRootOnlyInAWorldReadableDirectory() throws IOException {
        server = ControlServer.start(socket(), echo);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket()))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket().getParent())))
                .isEqualTo("rwxr-xr-x");
    }

    @Test
    void aHandlerExceptionBecomesAnError() throws IOException {
        server = ControlServer.start(socket(), echo);
        ObjectNode response = ControlClient.call(socket(), request("fail"));
        assertThat(response.get("ok").asBoolean()).isFalse();
        assertThat(response.get("error").asText()).isEqualTo("no vassal named ghost");
    }

    @Test
    void invalidJsonIsABadRequest() throws IOException {
        server = ControlServer.start(socket(), echo);
        JsonNode reply = sendRaw("{\"op\": \n".getBytes(StandardCharsets.UTF_8));
        assertThat(reply.get("ok").asBoolean()).isFalse();
        assertThat(reply.get("error").asText()).startsWith("bad request: ");

        assertThat(sendRaw("[1,2]\n".getBytes(StandardCharsets.UTF_8)).get("error").asText())
                .isEqualTo("bad request: expected a JSON object, got array");
        assertThat(sendRaw("\n".getBytes(StandardCharsets.UTF_8)).get("error").asText())
                .isEqualTo("bad request: empty request");
        assertThat(sendRaw("{} {}\n".getBytes(StandardCharsets.UTF_8)).get("error").asText())
                .startsWith("bad request: ");
        assertThat(handled).hasValue(0);
    }

    @Test
    void aRequestLineOver512KiBIsABadRequest() throws IOException {
        server = ControlServer.start(socket(), echo);
        byte[] huge = new byte[530_000];
        java.util.Arrays.fill(huge, (byte) 'x');
        JsonNode reply = sendRaw(huge);
        assertThat(reply.get("error").asText()).isEqualTo("bad request: line longer than 524288 bytes");
        assertThat(handled).hasValue(0);
    }

    @Test
    void aRequestWithoutTrailingNewlineIsAccepted() throws IOException {
        server = ControlServer.start(socket(), echo);
        JsonNode reply = sendRaw("{\"op\":\"status\"}".getBytes(StandardCharsets.UTF_8));
        assertThat(reply.get("ok").asBoolean()).isTrue();
    }

    @Test
    void aStaleSocketFileFromADeadEmperorIsReplaced() throws IOException {
        Files.createDirectories(socket().getParent());
        // Bind and close without unlinking: what a kill -9'd emperor leaves behind.
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(socket()));
        }
        assertThat(socket()).exists();
        assertThatThrownBy(() -> ControlClient.call(socket(), request("status")))
                .hasMessage("emperor is not running (stale control socket at " + socket() + ")");

        server = ControlServer.start(socket(), echo);
        assertThat(ControlClient.call(socket(), request("status")).get("ok").asBoolean()).isTrue();
    }

    @Test
    void aSecondEmperorOnTheSameSocketIsRefused() throws IOException {
        server = ControlServer.start(socket(), echo);
        assertThatThrownBy(() -> ControlServer.start(socket(), echo))
                .isInstanceOf(IOException.class)
                .hasMessage("another emperor is running on " + socket());
        assertThat(ControlClient.call(socket(), request("status")).get("ok").asBoolean())
                .as("the first one keeps working").isTrue();
    }

    @Test
    void aFileThatIsNotASocketIsLeftAlone() throws IOException {
        Files.createDirectories(socket().getParent());
        Files.writeString(socket(), "precious");
        assertThatThrownBy(() -> ControlServer.start(socket(), echo)).hasMessageContaining("is not a socket");
        assertThat(Files.readString(socket())).isEqualTo("precious");
    }

    @Test
    void closingRemovesTheSocket() throws IOException {
        server = ControlServer.start(socket(), echo);
        server.close();
        server = null;
        assertThat(socket()).doesNotExist();
        assertThatThrownBy(() -> ControlClient.call(socket(), request("status")))
                .hasMessage("emperor is not running (no control socket at " + socket() + ")");
    }

    @Test
    void aNonRootPeerIsRefusedEvenWhenTheFileModeLetsItConnect() throws Exception {
        server = ControlServer.start(socket(), echo);
        // Loosen every mode on the way so that only SO_PEERCRED stands between nobody and us.
        for (Path p = socket().getParent(); p.startsWith(tmp); p = p.getParent()) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Files.setPosixFilePermissions(socket(), PosixFilePermissions.fromString("rw-rw-rw-"));

        String client = """
                import socket, sys
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(sys.argv[1])
                try:
                    s.sendall(b'{"op":"stop","name":"alice"}\\n')
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the server may refuse and close before reading a byte
                reply = b''
                while not reply.endswith(b'\\n'):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
                sys.stdout.write(reply.decode())
                """;
        Process p = new ProcessBuilder("setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                "/usr/bin/python3", "-c", client, socket().toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();

        JsonNode reply = ControlProtocol.JSON.readTree(out);
        assertThat(reply.get("ok").asBoolean()).isFalse();
        assertThat(reply.get("error").asText()).isEqualTo("permission denied: control socket is root-only");
        assertThat(handled).as("the request never reached the handler").hasValue(0);
    }

    @Test
    void theSocketFileModeKeepsOtherUsersOut() throws Exception {
        server = ControlServer.start(socket(), echo);
        for (Path p = socket().getParent(); p.startsWith(tmp); p = p.getParent()) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        // The socket keeps its 0600: nobody's connect() fails with EACCES.
        String client = """
                import socket, sys
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(sys.argv[1])
                    print("connected")
                except PermissionError:
                    print("EACCES")
                """;
        Process p = new ProcessBuilder("setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                "/usr/bin/python3", "-c", client, socket().toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(out.strip()).isEqualTo("EACCES");
    }
}
