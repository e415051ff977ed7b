package dev.emperor.supervisor.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** "render":"text" on a real ControlServer: the CLI's text, made before the reply leaves the emperor. */
class TextRepliesTest {
    @TempDir
    Path tmp;

    ControlServer server;
    final AtomicInteger handled = new AtomicInteger();
    ObjectNode nextReply;

    @AfterEach
    void stop() throws IOException {
        if (server != null) server.close();
    }

    private JsonNode call(String requestJson) throws Exception {
        if (server == null) {
            server = ControlServer.start(tmp.resolve("control.sock"), request -> {
                handled.incrementAndGet();
                if (request.path("cmd").asText().equals("check")) return CheckText.reply(request);
                return nextReply.deepCopy();
            });
        }
        return ControlClient.call(tmp.resolve("control.sock"), (ObjectNode) ControlProtocol.JSON.readTree(requestJson));
    }

    private static ObjectNode json(String text) throws IOException {
        return (ObjectNode) ControlProtocol.JSON.readTree(text);
    }

    @Test
    void aStatusReplyComesBackAsTheTableTheCliPrints() throws Exception {
        nextReply = json("{\"ok\":true,\"watcher\":\"ok\",\"statusDir\":\"off\",\"state\":\"ok\",\"vassals\":[{\"name\":\"shop\","
                + "\"state\":\"stopped\",\"pid\":0,\"restarts\":2,\"memoryBytes\":1572864,\"cpuNanos\":1500000000,"
                + "\"lastExit\":\"exit 1\",\"lastError\":null}],\"retired\":[]}");
        JsonNode reply = call("{\"version\":2,\"render\":\"text\",\"cmd\":\"status\"}");
        CliText expected = StatusText.render(nextReply, null, false, false);
        assertThat(reply.path("ok").asBoolean()).isTrue();
        assertThat(reply.path("exit").asInt()).isZero();
        assertThat(reply.path("stdout").asText()).isEqualTo(expected.stdout())
                .contains("shop                 stopped             -          -        2      1.5M     1.50s  exit 1\n");
        assertThat(reply.path("stderr").asText()).isEmpty();
        assertThat(reply.has("vassals")).as("the data stays out of a text reply").isFalse();
    }

    @Test
    void aRefusalBecomesTheCliMessageWithExitOne() throws Exception {
        nextReply = json("{\"ok\":false,\"error\":\"no vassal named 'ghost'\"}");
        JsonNode reply = call("{\"version\":2,\"render\":\"text\",\"cmd\":\"stop\",\"name\":\"ghost\",\"wait\":5}");
        assertThat(reply.path("ok").asBoolean()).isFalse();
        assertThat(reply.path("error").asText()).isEqualTo("no vassal named 'ghost'");
        assertThat(reply.path("exit").asInt()).isEqualTo(1);
        assertThat(reply.path("stdout").asText()).isEmpty();
        assertThat(reply.path("stderr").asText()).isEqualTo("emperor: no vassal named 'ghost'\n");
    }

    @Test
    void anUnknownRenderOrACommandWithoutTextIsRefusedBeforeTheHandlerRuns() throws Exception {
        nextReply = json("{\"ok\":true}");
        assertThat(call("{\"render\":\"html\",\"cmd\":\"status\"}").path("error").asText())
                .isEqualTo("bad request: \"render\" must be \"text\", got \"html\"");
        assertThat(call("{\"render\":\"text\",\"cmd\":\"cert-rm\",\"name\":\"shop\"}").path("error").asText())
                .startsWith("bad request: \"render\":\"text\" is for status, start, stop, reload, logs and check");
        assertThat(handled.get()).as("a cert-rm asked for in a form it cannot answer is not done").isZero();
    }

    @Test
    void checkValidatesTheContentSentUnderTheNameGiven() throws Exception {
        Path config = tmp.resolve("emperor.ini");
        Files.createDirectories(tmp.resolve("distros/bookworm"));
        Files.writeString(config, "[emperor]\ndistro-dir = " + tmp.resolve("distros") + "\n");
        String good = Base64.getEncoder().encodeToString("[vassal]\nexec = /bin/true\n".getBytes());
        String bad = Base64.getEncoder().encodeToString("[vassal]\nexce = /bin/true\n".getBytes());
        JsonNode reply = call("{\"version\":2,\"render\":\"text\",\"cmd\":\"check\",\"config\":\"" + config + "\",\"files\":["
                + "{\"path\":\"a/good.ini\",\"content\":\"" + good + "\"},{\"path\":\"bad.ini\",\"content\":\"" + bad + "\"},"
                + "{\"path\":\"Bad Name.ini\",\"content\":\"\"}]}");
        assertThat(reply.path("exit").asInt()).isEqualTo(1);
        String[] lines = reply.path("stdout").asText().split("\n");
        assertThat(lines).hasSize(3);
        assertThat(lines[0]).isEqualTo("a/good.ini: ok");
        assertThat(lines[1]).startsWith("bad.ini:2: exce: unknown key");
        assertThat(lines[2]).startsWith("Bad Name.ini: bad tenant name");
        // the same verdicts the CLI gives a file it reads itself
        Path file = tmp.resolve("bad.ini");
        Files.writeString(file, "[vassal]\nexce = /bin/true\n");
        assertThat(CheckText.vassal(file, null, dev.emperor.supervisor.config.HostVassalEnvironment.of(
                CheckText.loadConfig(config))).line()).isEqualTo(lines[1].replace("bad.ini", file.toString()));
    }

    @Test
    void checkReportsABadEmperorIniAsTheCliDoesAndARelativeOneIsRefused() throws Exception {
        Path config = tmp.resolve("emperor.ini");
        Files.writeString(config, "[emperor]\nfrobnicate = yes\n");
        JsonNode reply = call("{\"render\":\"text\",\"cmd\":\"check\",\"config\":\"" + config
                + "\",\"files\":[{\"path\":\"a.ini\",\"content\":\"\"}]}");
        assertThat(reply.path("exit").asInt()).isEqualTo(1);
        assertThat(reply.path("stdout").asText()).isEmpty();
        assertThat(reply.path("stderr").asText()).startsWith(config + ":2: frobnicate: unknown key");
        assertThat(call("{\"cmd\":\"check\",\"config\":\"emperor.ini\",\"files\":[{\"path\":\"a.ini\",\"content\":\"\"}]}")
                .path("error").asText()).isEqualTo("bad request: \"config\" must be an absolute path");
    }

    @Test
    void logsRefusesANameThatIsAPathSoNoOtherLogIsRead() throws Exception {
        Path logs = Files.createDirectories(tmp.resolve("log"));
        Files.writeString(tmp.resolve("secret.log"), "not a tenant's\n");
        Files.writeString(logs.resolve("shop.log"), "one\n\u001b[2Jtwo\n");
        assertThat(LogsText.reply(logs, "../secret", 10).path("error").asText())
                .isEqualTo("'../secret' is not a valid tenant name");
        assertThat(LogsText.render("../secret", null)).isEqualTo(new CliText(2, "", "emperor: '../secret' is not a valid tenant name\n"));
        assertThat(LogsText.render("shop", LogsText.reply(logs, "shop", 10)).stdout()).isEqualTo("one\n\\x1b[2Jtwo\n");
        assertThat(LogsText.render("shop", LogsText.reply(logs, "shop", 1)).stdout()).isEqualTo("\\x1b[2Jtwo\n");
        assertThat(LogsText.render("nope", LogsText.reply(logs, "nope", 1)))
                .isEqualTo(new CliText(1, "", "emperor: no log for 'nope' in " + logs + "\n"));
    }
}
