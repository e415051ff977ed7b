package dev.emperor.supervisor.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The native control client (target/emperor-ctl, built by this module) against a peer written
 * here that answers what a broken or hostile emperor might: every reply byte is untrusted, the
 * client never hangs, and whatever it does not do itself goes to the JVM CLI (here a script
 * that says it was run), before anything is sent.
 */
class EmperorCtlTest {
    private static final Path CLIENT = Path.of("target/emperor-ctl").toAbsolutePath();
    private Path dir;
    private Path socket;
    private Path config;
    private Path fallback;
    private ServerSocketChannel server;
    private Thread peer;
    private final LinkedBlockingQueue<String> requests = new LinkedBlockingQueue<>();

    @BeforeEach
    void setUp() throws IOException {
        // under target/: a unix socket path must stay short, and tests keep out of /tmp
        dir = Files.createTempDirectory(Path.of("target").toAbsolutePath(), "ctl-");
        socket = dir.resolve("control.sock");
        config = dir.resolve("emperor.ini");
        Files.writeString(config, "# a test emperor\n[emperor]\n  control-socket = " + socket + "\r\nvassals = v\n");
        fallback = dir.resolve("jvm-cli");
        Files.writeString(fallback, "#!/bin/sh\necho \"jvm-cli $EMPEROR_NATIVE_CLI $*\"\nexit 42\n");
        Files.setPosixFilePermissions(fallback, PosixFilePermissions.fromString("rwx------"));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (server != null) server.close();
        if (peer != null) peer.join(10_000);
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** A peer that reads one request line and answers {@code reply} (null: never answers, 'close': closes). */
    private void answer(byte[] reply) throws IOException {
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        peer = Thread.ofPlatform().start(() -> {
            try (SocketChannel connection = server.accept()) {
                var in = Channels.newInputStream(connection);
                var line = new java.io.ByteArrayOutputStream();
                int b;
                while ((b = in.read()) != -1 && b != '\n') line.write(b);
                requests.add(line.toString(StandardCharsets.UTF_8));
                if (reply == null) {
                    Thread.sleep(30_000); // silent: the client's timeout must end it
                } else if (reply.length > 0) {
                    connection.write(ByteBuffer.wrap(reply));
                }
            } catch (IOException | InterruptedException e) {
                // the client left (a refused oversized reply) or the test ended
            }
        });
    }

    private void answer(String reply) throws IOException {
        answer(reply.getBytes(StandardCharsets.UTF_8));
    }

    private record Run(int code, String out, String err) {}

    private Run run(Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(CLIENT.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().put("EMPEROR_CLI_FALLBACK", fallback.toString());
        builder.environment().remove("EMPEROR_NATIVE_CLI");
        builder.environment().putAll(env);
        Path out = dir.resolve("out");
        Path err = dir.resolve("err");
        Process process = builder.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        process.getOutputStream().close();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            throw new AssertionError("emperor-ctl " + String.join(" ", args) + " hung");
        }
        return new Run(process.exitValue(), Files.readString(out, StandardCharsets.ISO_8859_1),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    private Run run(String... args) throws Exception {
        return run(Map.of(), args);
    }

    private static String utf8Bytes(String s) { // what the client wrote, read back byte for byte
        return new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    }

    @Test
    void printsTheRenderedTextAsDataAndExitsWithItsCode() throws Exception {
        answer("{\"ok\":true,\"extra\":{\"x\":[1,-2.5e3,{\"y\":null}],\"z\":\"}\"},\"exit\":3,"
                + "\"stdout\":\"a %s%n%x \\\"q\\\" \\u001b \\ud83d\\ude00 \\udc00 é\\n\",\"stderr\":\"warn\\n\",\"version\":2}\n");
        Run r = run("status", "shop", "--json", "-c", config.toString());
        assertThat(r.code).isEqualTo(3);
        assertThat(r.out).as("no format-string use; escapes decoded; a lone surrogate is '?', as Java prints it")
                .isEqualTo(utf8Bytes("a %s%n%x \"q\" \u001b \ud83d\ude00 ? é\n"));
        assertThat(r.err).isEqualTo("warn\n");
        JsonNode request = ControlProtocol.JSON.readTree(requests.take());
        assertThat(request.toString()).isEqualTo(
                "{\"version\":2,\"render\":\"text\",\"cmd\":\"status\",\"name\":\"shop\",\"json\":true}");
    }

    @Test
    void sendsTheFlagsOfEachCommand() throws Exception {
        answer("{\"exit\":0,\"stdout\":\"\",\"stderr\":\"\"}\n");
        assertThat(run("stop", "--config=" + config, "--wait", "030", "shop").code).isZero();
        assertThat(requests.take()).isEqualTo("{\"version\":2,\"render\":\"text\",\"cmd\":\"stop\",\"name\":\"shop\",\"wait\":30}");
        server.close();
        peer.join();
        Files.delete(socket);
        answer("{\"exit\":0,\"stdout\":\"\",\"stderr\":\"\"}\n");
        assertThat(run("logs", "shop", "-c", config.toString(), "--lines=7").code).isZero();
        assertThat(requests.take()).isEqualTo("{\"version\":2,\"render\":\"text\",\"cmd\":\"logs\",\"name\":\"shop\",\"lines\":7}");
    }

    @Test
    void checkSendsEachFilesContentWithItsNameAndTheConfigPath() throws Exception {
        answer("{\"exit\":1,\"stdout\":\"v/a.ini: ok\\n\",\"stderr\":\"\"}\n");
        Path vassals = Files.createDirectories(dir.resolve("v"));
        Files.write(vassals.resolve("a.ini"), new byte[] {'[', 'v', ']', '\n', (byte) 0xff});
        Files.writeString(vassals.resolve("b.json"), "{}");
        Run r = run("check", "-c", config.toString(), vassals.resolve("a.ini").toString(), vassals.resolve("b.json").toString());
        assertThat(r.code).isEqualTo(1);
        JsonNode request = ControlProtocol.JSON.readTree(requests.take());
        assertThat(request.path("config").asText()).isEqualTo(config.toString());
        assertThat(request.path("files").get(0).path("path").asText()).isEqualTo(vassals.resolve("a.ini").toString());
        assertThat(Base64.getDecoder().decode(request.path("files").get(0).path("content").asText()))
                .isEqualTo(new byte[] {'[', 'v', ']', '\n', (byte) 0xff});
        assertThat(request.path("files").get(1).path("content").asText()).isEqualTo("e30=");
    }

    @Test
    void malformedRepliesAreErrorsNamingTheSocket() throws Exception {
        String[] replies = {
            "not json\n",
            "{\"exit\":0,\"stdout\":\"x\"\n",
            "{\"exit\":256,\"stdout\":\"\",\"stderr\":\"\"}\n",
            "{\"exit\":0,\"stdout\":\"\\q\",\"stderr\":\"\"}\n",
            "{\"exit\":0,\"exit\":1,\"stdout\":\"\",\"stderr\":\"\"}\n",
            "{\"exit\":0,\"stdout\":\"\",\"stderr\":\"\"} {}\n",
            "{\"exit\":0,\"stdout\":\"a\tb\",\"stderr\":\"\"}\n",
            "{\"x\":" + "[".repeat(100_000) + "\n",
        };
        for (String reply : replies) {
            answer(reply);
            Run r = run("status", "-c", config.toString());
            assertThat(r.code).as(reply).isEqualTo(1);
            assertThat(r.out).as(reply).isEmpty();
            assertThat(r.err).as(reply).startsWith("emperor: bad reply from the emperor on " + socket + ": ");
            server.close();
            peer.join();
            Files.delete(socket);
        }
    }

    @Test
    void aReplyOverSixtyFourMibIsRefused() throws Exception {
        byte[] huge = new byte[(64 << 20) + 16];
        java.util.Arrays.fill(huge, (byte) 'a');
        System.arraycopy("{\"stdout\":\"".getBytes(StandardCharsets.UTF_8), 0, huge, 0, 11);
        answer(huge);
        Run r = run("status", "-c", config.toString());
        assertThat(r.code).isEqualTo(1);
        assertThat(r.err).isEqualTo("emperor: the emperor's reply on " + socket + " is larger than 64 MiB\n");
    }

    @Test
    void aSilentEmperorOrOneThatHangsUpIsAnErrorNotAHang() throws Exception {
        answer((byte[]) null);
        Run silent = run(Map.of("EMPEROR_CTL_TIMEOUT", "1"), "status", "-c", config.toString());
        assertThat(silent.code).isEqualTo(1);
        assertThat(silent.err).isEqualTo("emperor: no answer from the emperor on " + socket + " within 1 s\n");
        server.close();
        peer.interrupt();
        peer.join();
        Files.delete(socket);
        answer(new byte[0]);
        Run closed = run("start", "shop", "-c", config.toString());
        assertThat(closed.code).isEqualTo(1);
        assertThat(closed.err).isEqualTo("emperor: the emperor closed the control connection on " + socket + " without answering\n");
    }

    @Test
    void aReplyWithoutTextGoesToTheJvmCli() throws Exception {
        // an emperor of protocol version 1 refuses the request before acting on it
        answer("{\"ok\":false,\"error\":\"unsupported protocol version 2: this emperor speaks version 1\",\"version\":1}\n");
        Run r = run("start", "shop", "-c", config.toString());
        assertThat(r.code).isEqualTo(42);
        assertThat(r.out).isEqualTo("jvm-cli off start shop -c " + config + "\n");
    }

    @Test
    void noEmperorOrAFormItDoesNotDoGoesToTheJvmCliWithoutAsking() throws Exception {
        assertThat(run("status", "-c", config.toString()).out).as("nothing listens").startsWith("jvm-cli off status");
        answer("{\"exit\":0,\"stdout\":\"native\\n\",\"stderr\":\"\"}\n");
        Path link = dir.resolve("link.ini");
        Files.createSymbolicLink(link, config);
        Path emperorIni = dir.resolve("other.ini");
        Files.writeString(emperorIni, "[emperor]\n");
        Path relative = dir.resolve("relative.ini");
        Files.writeString(relative, "[emperor]\ncontrol-socket = ./control.sock\n");
        List<List<String>> forms = List.of(
                List.of("status", "--help"), List.of("status", "-c", config.toString(), "--frobnicate"),
                List.of("logs", "shop", "-f", "-c", config.toString()), List.of("logs", "shop", "-n", "20000", "-c", config.toString()),
                List.of("start", "-c", config.toString()), List.of("stop", "a", "b", "-c", config.toString()),
                List.of("stop", "a", "--wait", "601", "-c", config.toString()), List.of("status", "@args", "-c", config.toString()),
                List.of("check", "-c", config.toString(), link.toString()), List.of("check", "-c", config.toString(), emperorIni.toString()),
                List.of("check", "-c", config.toString(), dir.resolve("missing.ini").toString()),
                List.of("status", "-c", "emperor.ini"), List.of("status", "-c", relative.toString()),
                List.of("status", "-c", dir.resolve("missing.ini").toString()), List.of("events", "shop"), List.of());
        for (List<String> form : forms) {
            Run r = run(form.toArray(String[]::new));
            assertThat(r.code).as(form.toString()).isEqualTo(42);
            assertThat(r.out).as(form.toString()).isEqualTo("jvm-cli off " + String.join(" ", form) + "\n");
        }
        assertThat(requests).as("none of them was sent").isEmpty();
        assertThat(run("status", "-c", config.toString()).out).isEqualTo("native\n");
    }
}
