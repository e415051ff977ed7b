package dev.emperor.supervisor.status;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StatusFilesTest {
    private static final ObjectMapper json = new ObjectMapper();

    @TempDir
    Path tmp;

    /** name -> its current "state"; absent = no such vassal. */
    private final Map<String, String> states = new ConcurrentHashMap<>();

    private Optional<ObjectNode> render(String name) {
        return Optional.ofNullable(states.get(name)).map(s -> json.createObjectNode().put("name", name).put("state", s));
    }

    private StatusFiles files() {
        return new StatusFiles(this::render, () -> List.copyOf(states.keySet()));
    }

    @Test
    void aBurstOfChangesEndsWithTheLatestStateInOneMoreWrite() throws Exception {
        Path dir = tmp.resolve("status");
        CountDownLatch firstRenderStarted = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger renders = new AtomicInteger();
        states.put("shop", "starting");
        StatusFiles files = new StatusFiles(name -> {
            if (renders.incrementAndGet() == 1) {
                firstRenderStarted.countDown();
                await(release);
            }
            return render(name);
        }, () -> List.of("shop"));
        files.use(Optional.of(dir)); // start-up write: its render is held until the burst is in
        assertThat(firstRenderStarted.await(30, TimeUnit.SECONDS)).isTrue();
        for (int i = 0; i < 10; i++) {
            states.put("shop", "state-" + i);
            files.changed("shop");
        }
        release.countDown();
        waitUntil(() -> "state-9".equals(stateIn(dir.resolve("shop.json"))));
        files.close(); // lets every queued write finish
        // the held write, then one for the whole burst: at most one write in flight per name
        assertThat(renders.get()).isEqualTo(2);
        JsonNode file = json.readTree(dir.resolve("shop.json").toFile());
        assertThat(file.path("version").asInt()).isEqualTo(1);
        assertThat(Instant.parse(file.path("updatedAt").asText())).isNotNull();
        assertThat(Files.exists(dir.resolve(".shop.json.tmp"))).isFalse();
    }

    @Test
    void startUpWritesKnownVassalsAndDeletesOnlyFilesOfVassalsThatAreGone() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("status"));
        Files.writeString(dir.resolve("gone.json"), "{}");
        Files.writeString(dir.resolve("README.json"), "not a tenant name: never ours");
        Files.writeString(dir.resolve("panel.txt"), "someone else's file");
        states.put("shop", "running");
        StatusFiles files = files();
        files.use(Optional.of(dir));
        waitUntil(() -> "running".equals(stateIn(dir.resolve("shop.json"))) && !Files.exists(dir.resolve("gone.json")));
        // removed later: its file goes
        states.remove("shop");
        files.changed("shop");
        waitUntil(() -> !Files.exists(dir.resolve("shop.json")));
        files.close();
        assertThat(dir.resolve("README.json")).exists();
        assertThat(dir.resolve("panel.txt")).exists();
        assertThat(files.health()).isEqualTo("ok");
    }

    @Test
    void writeFailuresAreCountedInHealthAndWritingResumesWhenTheDirectoryWorksAgain() throws Exception {
        Path blocker = Files.writeString(tmp.resolve("blocker"), "a file where a directory should be");
        Path dir = blocker.resolve("status");
        states.put("shop", "running");
        StatusFiles files = files();
        files.use(Optional.of(dir));
        waitUntil(() -> files.failedWrites() >= 2); // the directory, then the vassal's file
        assertThat(files.health()).startsWith("failing: " + blocker.resolve("status")).contains("failed writes");
        Files.delete(blocker);
        Files.createDirectories(dir);
        states.put("shop", "stopped");
        files.changed("shop");
        waitUntil(() -> "stopped".equals(stateIn(dir.resolve("shop.json"))));
        waitUntil(() -> files.health().equals("ok"));
        files.close();
    }

    @Test
    void offWritesNothing() throws Exception {
        StatusFiles files = files();
        states.put("shop", "running");
        files.changed("shop");
        files.close();
        assertThat(files.health()).isEqualTo("off");
        try (var list = Files.list(tmp)) {
            assertThat(list).isEmpty();
        }
    }

    private static String stateIn(Path file) {
        try {
            return json.readTree(Files.readString(file)).path("state").asText(null);
        } catch (Exception e) {
            return null; // not there yet
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void waitUntil(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not reached within 30s").isLessThan(deadline);
            Thread.sleep(20);
        }
    }
}
