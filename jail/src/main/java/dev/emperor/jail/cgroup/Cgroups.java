package dev.emperor.jail.cgroup;

import dev.emperor.jail.JailException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Chooses the cgroup driver for this host from /proc/self/mountinfo: v2 when
 * /sys/fs/cgroup itself is a cgroup2 mount, otherwise v1 with whichever hierarchies carry
 * memory, cpu, cpuacct and pids (never assumed paths: distributions mount them differently,
 * "cpu,cpuacct" co-mounted or apart). A hybrid host's cgroup2 at /sys/fs/cgroup/unified
 * carries no controllers and does not count as v2.
 */
public final class Cgroups {
    private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");
    private static final String V2_MOUNT_POINT = "/sys/fs/cgroup";
    private static final List<String> V1_CONTROLLERS = List.of("memory", "cpu", "cpuacct", "pids");

    private Cgroups() {}

    /** The driver for this host, with Emperor's cgroups under {@code subtree} (e.g. "emperor"). */
    public static CgroupDriver detect(String subtree) {
        return fromMountInfo(readMountInfo(), subtree, Path.of(V2_MOUNT_POINT));
    }

    /**
     * As {@link #detect(String)}, but on a v2 host the subtree goes under {@code v2Parent}, a
     * cgroup delegated to the emperor (systemd Delegate=yes), e.g.
     * /sys/fs/cgroup/system.slice/emperor.service. v1 hosts ignore it: v1 hierarchies have no
     * such delegation, Emperor's subtree sits at the top of each.
     */
    public static CgroupDriver detect(String subtree, Path v2Parent) {
        return fromMountInfo(readMountInfo(), subtree, v2Parent);
    }

    static CgroupDriver fromMountInfo(List<String> mountInfo, String subtree, Path v2Parent) {
        Map<String, Path> hierarchies = new HashMap<>();
        for (String line : mountInfo) {
            // id parent major:minor root mount-point options [optional...] - fstype source super-options
            String[] fields = line.split(" ");
            int dash = List.of(fields).indexOf("-");
            if (dash < 6 || dash + 3 >= fields.length) {
                continue;
            }
            String mountPoint = unescape(fields[4]);
            String fsType = fields[dash + 1];
            if (fsType.equals("cgroup2") && mountPoint.equals(V2_MOUNT_POINT)) {
                return new CgroupV2Driver(v2Parent, subtree);
            }
            if (fsType.equals("cgroup")) {
                for (String option : fields[dash + 3].split(",")) {
                    // freezer is optional: with it a tenant's cgroup is frozen before it is killed
                    if (V1_CONTROLLERS.contains(option) || option.equals("freezer")) {
                        // The first mount of a hierarchy wins; later ones are bind mounts.
                        hierarchies.putIfAbsent(option, Path.of(mountPoint));
                    }
                }
            }
        }
        for (String controller : V1_CONTROLLERS) {
            if (!hierarchies.containsKey(controller)) {
                throw new JailException("cgroup detect", "no cgroup2 at " + V2_MOUNT_POINT
                        + " and no cgroup v1 hierarchy with the " + controller
                        + " controller in " + MOUNTINFO);
            }
        }
        return new CgroupV1Driver(hierarchies.get("memory"), hierarchies.get("cpu"),
                hierarchies.get("cpuacct"), hierarchies.get("pids"), hierarchies.get("freezer"), subtree);
    }

    private static List<String> readMountInfo() {
        try {
            return Files.readAllLines(MOUNTINFO);
        } catch (IOException e) {
            throw new JailException("cgroup detect", "read " + MOUNTINFO + ": " + e.getMessage(), e);
        }
    }

    /** mountinfo writes space, tab, newline and backslash in paths as \ooo octal escapes. */
    private static String unescape(String field) {
        StringBuilder out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && isOctal(field, i + 1)) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static boolean isOctal(String s, int from) {
        if (from + 3 > s.length()) {
            return false;
        }
        for (int i = from; i < from + 3; i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '7') {
                return false;
            }
        }
        return true;
    }
}
