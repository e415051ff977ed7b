package dev.emperor.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Whatever the interleaving of deletes, writes and renames in the vassal directory, its final
 * content wins. A file written again while the tenant of its old version is still stopping
 * was lost for good: the watcher reported the new version to the vassal being removed, which
 * dropped it, and no rescan ever reported it again.
 */
class VassalFileRecreationTest {
    private static final List<String> NAMES = List.of("r0", "r1", "r2");
    @RegisterExtension
    final EmperorFixture fixture = EmperorFixture.builder().build();
    private final EmperorProcess emperor = fixture.process();

    /**
     * Version V of a tenant's file: its payload is {@code sleep 100000+V}, so the version that
     * runs can be read from the process list. Odd versions ignore SIGTERM, so stopping them
     * takes the whole stop-grace: that is the window in which the file used to be lost.
     */
    private static String content(int version) {
        String sleep = "sleep " + (100000 + version);
        String exec = version % 2 == 1 ? "sh -c \"trap '' TERM; exec " + sleep + "\"" : sleep;
        return "[vassal]\nexec = " + exec + "\ndistro = busybox\n";
    }

    @Test
    void aFileRemovedAndWrittenAgainWhileItsTenantStopsComesBackWithTheNewContent() throws Exception {
        Path file = emperor.vassalsDir().resolve("r0.ini");
        EmperorProcess.writeAtomically(file, content(1));
        emperor.waitFor("version 1 to run", Duration.ofSeconds(30), () -> runningVersion("r0") == 1);

        Files.delete(file); // the stop takes stop-grace: version 1 ignores SIGTERM
        EmperorProcess.writeAtomically(file, content(2));

        emperor.waitFor("version 2 to run", Duration.ofSeconds(30), () -> runningVersion("r0") == 2,
                () -> "status: " + emperor.status("r0") + "\n" + emperor.daemonOutput());
    }

    @Test
    void anEditorsRenameAwayAndRewriteIsSeenAsTheNewContent() throws Exception {
        Path file = emperor.vassalsDir().resolve("r0.ini");
        EmperorProcess.writeAtomically(file, content(3));
        emperor.waitFor("version 3 to run", Duration.ofSeconds(30), () -> runningVersion("r0") == 3);

        Path backup = emperor.vassalsDir().resolve("r0.ini~");
        Files.move(file, backup, StandardCopyOption.ATOMIC_MOVE); // vim's "backupcopy=no" save
        EmperorProcess.sleep(Duration.ofMillis(300)); // the watcher sees the name gone
        Files.writeString(file, content(4));
        Files.delete(backup);

        emperor.waitFor("version 4 to run", Duration.ofSeconds(30), () -> runningVersion("r0") == 4,
                () -> "status: " + emperor.status("r0") + "\n" + emperor.daemonOutput());
    }

    /**
     * Property: random sequences of writes (atomic and in place), deletes, renames over each
     * other and editor saves, with random pauses; once the directory is left alone, the
     * tenants are exactly its files, each running its file's latest version.
     */
    @Test
    void theDirectorysFinalContentWinsAfterAnySequenceOfOperations() throws Exception {
        long seed = new Random().nextLong();
        Random random = new Random(seed);
        Map<String, Integer> model = new TreeMap<>(); // name -> version of its file now
        int version = 10;
        for (int round = 0; round < 5; round++) {
            List<String> done = new ArrayList<>();
            for (int step = 0; step < 8; step++) {
                String name = NAMES.get(random.nextInt(NAMES.size()));
                Path file = emperor.vassalsDir().resolve(name + ".ini");
                switch (random.nextInt(5)) {
                    case 0 -> {
                        EmperorProcess.writeAtomically(file, content(++version));
                        model.put(name, version);
                        done.add("write " + name + "=" + version);
                    }
                    case 1 -> {
                        Files.writeString(file, content(++version));
                        model.put(name, version);
                        done.add("write-in-place " + name + "=" + version);
                    }
                    case 2 -> {
                        Files.deleteIfExists(file);
                        model.remove(name);
                        done.add("delete " + name);
                    }
                    case 3 -> {
                        String other = NAMES.get(random.nextInt(NAMES.size()));
                        if (other.equals(name) || !model.containsKey(name)) continue;
                        Files.move(file, emperor.vassalsDir().resolve(other + ".ini"),
                                StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                        model.put(other, model.remove(name));
                        done.add("rename " + name + "->" + other);
                    }
                    default -> {
                        if (!model.containsKey(name)) continue;
                        Path backup = emperor.vassalsDir().resolve(name + ".ini~");
                        Files.move(file, backup, StandardCopyOption.ATOMIC_MOVE);
                        Files.writeString(file, content(++version));
                        Files.delete(backup);
                        model.put(name, version);
                        done.add("editor-save " + name + "=" + version);
                    }
                }
                EmperorProcess.sleep(Duration.ofMillis(random.nextInt(400)));
            }
            Map<String, Integer> expected = Map.copyOf(model);
            String history = "seed " + seed + ", round " + round + ": " + done;
            emperor.waitFor("the tenants to match the directory " + expected, Duration.ofSeconds(60),
                    () -> actual().equals(expected),
                    () -> history + "\nactual: " + actual() + "\n" + emperor.daemonOutput());
        }
    }

    /** name -> version for every tenant the emperor lists, -1 where none runs. */
    private Map<String, Integer> actual() {
        Map<String, Integer> running = new TreeMap<>();
        for (JsonNode v : emperor.statusJson()) {
            String name = v.path("name").asText();
            running.put(name, v.path("state").asText().equals("running") ? runningVersion(name) : -1);
        }
        return running;
    }

    /** The version whose payload runs in the tenant now, or -1. */
    private int runningVersion(String tenant) {
        for (int pid : emperor.processesOf(tenant)) {
            try {
                String cmdline = Files.readString(Path.of("/proc/" + pid + "/cmdline"), StandardCharsets.ISO_8859_1);
                String[] argv = cmdline.split("\0");
                if (argv.length == 2 && argv[0].endsWith("sleep") && argv[1].startsWith("1000")) {
                    return Integer.parseInt(argv[1]) - 100000;
                }
            } catch (IOException | NumberFormatException e) {
                // exited meanwhile
            }
        }
        return -1;
    }
}
