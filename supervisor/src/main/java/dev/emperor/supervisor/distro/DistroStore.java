package dev.emperor.supervisor.distro;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The operator's store of tenant root filesystems: one directory per distro under
 * distro-dir, built with debootstrap. A tenant names its distro in its vassal file; moving a
 * tenant to a newer root is a one-line change there.
 */
public final class DistroStore {
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");
    private static final String METADATA = ".emperor-distro";
    private final Path dir;

    public DistroStore(Path dir) {
        this.dir = dir;
    }

    public record Distro(String name, Path root, String suite, String created, String includes) {}

    public List<Distro> list() throws IOException {
        List<Distro> result = new ArrayList<>();
        if (!Files.isDirectory(dir)) return result;
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path root : entries.sorted().toList()) {
                String name = root.getFileName().toString();
                if (!Files.isDirectory(root) || !NAME.matcher(name).matches()) continue;
                Properties meta = new Properties();
                Path metaFile = root.resolve(METADATA);
                if (Files.isRegularFile(metaFile)) {
                    try (var in = Files.newInputStream(metaFile)) {
                        meta.load(in);
                    }
                }
                result.add(new Distro(name, root, meta.getProperty("suite", "?"), meta.getProperty("created", "?"),
                        meta.getProperty("include", "")));
            }
        }
        return result;
    }

    /**
     * Runs {@code debootstrap --variant=minbase} into a temporary directory and renames it into
     * place only when it succeeded, so a half-built root is never offered to a tenant.
     */
    public Path create(String name, String suite, String mirror, List<String> include, PrintStream progress)
            throws IOException, InterruptedException {
        validateName(name);
        if (!suite.matches("[a-z0-9-]+")) throw new IllegalArgumentException("bad suite name '" + suite + "'");
        Path root = dir.resolve(name);
        if (Files.exists(root)) throw new IllegalArgumentException("distro '" + name + "' already exists at " + root);
        Files.createDirectories(dir);
        Path partial = dir.resolve("." + name + ".partial");
        removeTree(partial);
        List<String> command = new ArrayList<>(List.of("debootstrap", "--variant=minbase"));
        if (!include.isEmpty()) command.add("--include=" + String.join(",", include));
        command.addAll(List.of(suite, partial.toString(), mirror));
        progress.println("emperor: " + String.join(" ", command));
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("cannot run debootstrap (apt-get install debootstrap): " + e.getMessage(), e);
        }
        process.getInputStream().transferTo(progress);
        int code = process.waitFor();
        if (code != 0) {
            removeTree(partial);
            throw new IOException("debootstrap failed with exit code " + code + " (see its output above)");
        }
        Properties meta = new Properties();
        meta.setProperty("suite", suite);
        meta.setProperty("mirror", mirror);
        meta.setProperty("include", String.join(",", include));
        meta.setProperty("created", Instant.now().toString());
        try (var out = Files.newOutputStream(partial.resolve(METADATA))) {
            meta.store(out, "made by emperor distro create");
        }
        Files.move(partial, root);
        return root;
    }

    /** Deletes a distro; the caller has checked that no tenant uses it. */
    public void remove(String name) throws IOException {
        validateName(name);
        Path root = dir.resolve(name);
        if (!Files.isDirectory(root)) throw new IllegalArgumentException("no distro named '" + name + "' in " + dir);
        Path doomed = dir.resolve("." + name + ".removing");
        Files.move(root, doomed); // from here on no tenant can start on it
        removeTree(doomed);
    }

    public static void validateName(String name) {
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("bad distro name '" + name + "': use lowercase letters, digits, '.', '_', '-'");
        }
    }

    /** The Debian mirror this host's apt uses (first non-security URI), so debootstrap works offline-ish. */
    public static String hostMirror() {
        List<Path> sources = new ArrayList<>();
        sources.add(Path.of("/etc/apt/sources.list"));
        try (Stream<Path> d = Files.list(Path.of("/etc/apt/sources.list.d"))) {
            d.sorted().forEach(sources::add);
        } catch (IOException ignored) {
            // no sources.list.d: only sources.list counts
        }
        for (Path file : sources) {
            try {
                for (String line : Files.readAllLines(file)) {
                    String l = line.strip();
                    String uri = null;
                    if (l.startsWith("URIs:")) uri = l.substring(5).strip().split("\\s+")[0];
                    else if (l.startsWith("deb ")) uri = l.split("\\s+")[l.contains("[") ? 2 : 1];
                    if (uri != null && !uri.contains("security")) return uri;
                }
            } catch (IOException | RuntimeException ignored) {
                // unreadable or odd file: try the next
            }
        }
        return "http://deb.debian.org/debian";
    }

    /** Removes a tree without following symlinks, after detaching anything debootstrap left mounted in it. */
    private static void removeTree(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        String prefix = root.toRealPath().toString() + "/";
        List<String> mounts = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String mountPoint = line.split(" ")[4];
            if (mountPoint.startsWith(prefix)) mounts.add(mountPoint);
        }
        mounts.sort(Comparator.reverseOrder());
        for (String mountPoint : mounts) {
            try {
                new ProcessBuilder("umount", "--lazy", mountPoint).inheritIO().start().waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while unmounting " + mountPoint);
            }
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
