package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A vassal file removed and a file of the same name written later: within retention it is the
 * same tenant (its uid, home, address and ports back); after `emperor purge` or the end of
 * retention it is someone else, who gets none of the old tenant's identity or files. On the
 * old code the second customer of a name got the first one's uid, home and address.
 */
class TenantIdentityTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /**
     * Writes its uid into $HOME/mark the first time its home is empty, so the mark tells
     * which tenant's home this is; appends to /run/spawns like {@link EmperorProcess#SLEEPER}.
     */
    private static final String MARKER =
            "exec = sh -c \"test -f $HOME/mark || id -u > $HOME/mark; echo $$ >> /run/spawns; exec sleep 100000\"";

    private EmperorProcess emperor;

    @AfterEach
    void tearDown() {
        if (emperor != null) emperor.close();
    }

    private void alpha() {
        emperor.vassal("alpha", MARKER, "distro = busybox", "disk = 16M", "inodes = 2048", "port = db tcp 5432");
    }

    /** The running tenant's uid, address and public port, once it has all three and has written its mark. */
    private record Identity(int uid, String address, int port, String mark) {}

    private Identity identity(String tenant) {
        JsonNode[] seen = new JsonNode[1];
        emperor.waitFor(tenant + " running with an address, a public port and its mark", Duration.ofSeconds(30), () -> {
            seen[0] = emperor.status(tenant).orElse(null);
            return seen[0] != null && seen[0].path("state").asText().equals("running") && seen[0].hasNonNull("address")
                    && seen[0].path("ports").size() == 1 && seen[0].path("ports").get(0).path("publicPort").asInt() > 0
                    && !EmperorProcess.readLines(emperor.homeOf(tenant).resolve("mark")).isEmpty();
        }, () -> "status " + seen[0]);
        return new Identity(seen[0].path("uid").asInt(), seen[0].path("address").asText(),
                seen[0].path("ports").get(0).path("publicPort").asInt(),
                EmperorProcess.readLines(emperor.homeOf(tenant).resolve("mark")).get(0));
    }

    private List<JsonNode> retired() {
        EmperorProcess.CliResult r = emperor.command("status", "--retired", "--json");
        assertThat(r.code()).as("status --retired: %s", r.err()).isZero();
        try {
            List<JsonNode> list = new ArrayList<>();
            JSON.readTree(r.out()).forEach(list::add);
            return list;
        } catch (java.io.IOException e) {
            throw new AssertionError("not JSON: " + r.out(), e);
        }
    }

    private Optional<JsonNode> retired(String tenant) {
        return retired().stream().filter(r -> r.path("name").asText().equals(tenant)).findFirst();
    }

    private void removeAndWaitRetired(String tenant) throws Exception {
        Files.delete(emperor.vassalsDir().resolve(tenant + ".ini"));
        emperor.waitFor(tenant + " to be retired", Duration.ofSeconds(30),
                () -> emperor.status(tenant).isEmpty() && retired(tenant).isPresent());
    }

    private String events(String tenant) {
        return emperor.command("events", tenant, "-n", "100").out();
    }

    @Test
    void aTenantRemovedAndBackWithinRetentionIsTheSameTenantWithItsFiles() throws Exception {
        emperor = new EmperorProcess().start();
        alpha();
        Identity before = identity("alpha");
        assertThat(before.mark()).isEqualTo(String.valueOf(before.uid()));
        assertThat(events("alpha")).contains("new tenant (fresh identity)");

        removeAndWaitRetired("alpha");
        JsonNode retired = retired("alpha").orElseThrow();
        assertThat(retired.path("uid").asInt()).isEqualTo(before.uid());
        assertThat(retired.path("address").asText()).isEqualTo(before.address());
        assertThat(retired.path("ports").get(0).asInt()).isEqualTo(before.port());
        assertThat(retired.path("expiresAt").asText()).as("default retain: 30 days").isNotEmpty();
        EmperorProcess.CliResult table = emperor.command("status");
        assertThat(table.out()).contains("Retired").containsPattern("alpha\\s+\\S+\\s+\\S+\\s+" + before.uid());
        assertThat(emperor.imageOf("alpha")).as("its data is kept while retired").exists();
        assertThat(events("alpha")).contains("retired: ");

        alpha();
        Identity after = identity("alpha");
        assertThat(after).as("the same uid, address, port and home (its mark from the first life)").isEqualTo(before);
        assertThat(retired("alpha")).isEmpty();
        assertThat(events("alpha")).contains("restored (same tenant)");
    }

    @Test
    void aPurgedNameIsANewTenantWithNothingOfTheOldOneAndTheOldPortsGoToNobody() throws Exception {
        emperor = new EmperorProcess().start();
        alpha();
        Identity first = identity("alpha");

        EmperorProcess.CliResult live = emperor.command("purge", "alpha");
        assertThat(live.code()).as("purging a live tenant").isEqualTo(1);
        assertThat(live.err()).contains("tenant alpha is live").contains("remove its vassal file first");
        assertThat(emperor.statusOf("alpha").path("state").asText()).isEqualTo("running");

        removeAndWaitRetired("alpha");
        EmperorProcess.CliResult purged = emperor.command("purge", "alpha");
        assertThat(purged.code()).as("purge: %s", purged.err()).isZero();
        assertThat(purged.out()).contains("purged");
        assertThat(retired("alpha")).isEmpty();
        assertThat(emperor.imageOf("alpha")).doesNotExist();
        assertThat(emperor.homeOf("alpha")).doesNotExist();
        assertThat(emperor.logOf("alpha")).doesNotExist();
        assertThat(emperor.loopDevicesUnderRoot()).as("loop devices left attached").isEmpty();
        assertThat(emperor.mountsUnderRoot()).isEmpty();
        try (var left = Files.list(emperor.root().resolve("state/volumes"))) {
            assertThat(left.map(Path::getFileName).map(Path::toString).toList()).as("set-aside data deleted").isEmpty();
        }

        EmperorProcess.CliResult again = emperor.command("purge", "alpha");
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.err()).contains("no retired tenant named 'alpha'");
        EmperorProcess.CliResult unknown = emperor.command("purge", "nosuch");
        assertThat(unknown.code()).isEqualTo(1);
        assertThat(unknown.err()).contains("'nosuch'");

        alpha();
        Identity second = identity("alpha");
        assertThat(second.uid()).as("a fresh uid").isNotEqualTo(first.uid());
        assertThat(second.address()).as("a fresh address").isNotEqualTo(first.address());
        assertThat(second.port()).as("the old public port goes to nobody").isNotEqualTo(first.port());
        assertThat(second.mark()).as("an empty home: the mark is the new tenant's own").isEqualTo(String.valueOf(second.uid()));
        String history = events("alpha");
        assertThat(history).contains("purged (emperor purge)").contains("new tenant (fresh identity)");
        assertThat(history.lastIndexOf("new tenant (fresh identity)")).isGreaterThan(history.indexOf("purged (emperor purge)"));

        emperor.vassal("beta", MARKER, "distro = busybox", "disk = 16M", "inodes = 2048", "port = db tcp 5432");
        Identity beta = identity("beta");
        assertThat(List.of(first.uid(), second.uid())).doesNotContain(beta.uid());
        assertThat(List.of(first.port(), second.port())).doesNotContain(beta.port());
        assertThat(List.of(first.address(), second.address())).doesNotContain(beta.address());
    }

    @Test
    void retentionEndsByItselfAndThePurgeOutlivesARestart() throws Exception {
        emperor = new EmperorProcess().set("retain", "3s").start();
        alpha();
        Identity first = identity("alpha");
        Files.delete(emperor.vassalsDir().resolve("alpha.ini"));

        // its history says both steps (retired, then purged), whenever this test looks
        emperor.waitFor("alpha purged by expiry", Duration.ofSeconds(30),
                () -> events("alpha").contains("purged (retention of 3s over)") && retired("alpha").isEmpty());
        String history = events("alpha");
        assertThat(history.indexOf("retired: ")).isNotNegative().isLessThan(history.indexOf("purged (retention"));
        assertThat(emperor.imageOf("alpha")).doesNotExist();
        assertThat(emperor.loopDevicesUnderRoot()).isEmpty();

        emperor.stop();
        emperor.start();
        alpha();
        Identity second = identity("alpha");
        assertThat(second.uid()).isNotEqualTo(first.uid());
        assertThat(second.address()).isNotEqualTo(first.address());
        assertThat(second.port()).isNotEqualTo(first.port());
        assertThat(second.mark()).isEqualTo(String.valueOf(second.uid()));
    }
}
