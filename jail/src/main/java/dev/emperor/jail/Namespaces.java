package dev.emperor.jail;

import com.sun.jna.LastErrorException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Namespace changes of the calling thread only (unshare and setns act per thread), plus the
 * namespace-scoped settings made right after: mount propagation and the hostname.
 */
final class Namespaces {
    /** A tenant's namespaces as /proc/PID/ns names them, in the order enter joins them. */
    static final List<String> ENTERED = List.of("uts", "ipc", "net", "cgroup", "pid");

    private Namespaces() {}

    static void unshare(int flags, String tenant) {
        try {
            LibC.INSTANCE.unshare(flags);
        } catch (LastErrorException e) {
            throw LibC.failure("unshare", "namespaces of tenant " + tenant + " (" + names(flags) + ")", e);
        }
    }

    /**
     * Makes every mount of this thread's (new) mount namespace private, so that nothing the
     * jail mounts propagates back to the host and no host mount event reaches the tenant.
     */
    static void makeMountsPrivate(String tenant) {
        try {
            LibC.INSTANCE.mount("none", "/", null, LibC.MS_REC | LibC.MS_PRIVATE, null);
        } catch (LastErrorException e) {
            throw LibC.failure("mount", "make / rprivate for tenant " + tenant, e);
        }
    }

    static void setHostname(String hostname, String tenant) {
        byte[] name = hostname.getBytes(StandardCharsets.UTF_8);
        try {
            LibC.INSTANCE.sethostname(name, name.length);
        } catch (LastErrorException e) {
            throw LibC.failure("sethostname", hostname + " for tenant " + tenant, e);
        }
    }

    /** setns(fd, flag) where fd is a /proc/PID/ns/NAME file. */
    static void join(int fd, String name, String tenant) {
        try {
            LibC.INSTANCE.setns(fd, flagOf(name));
        } catch (LastErrorException e) {
            throw LibC.failure("setns", name + " namespace of tenant " + tenant, e);
        }
    }

    static int flagOf(String name) {
        return switch (name) {
            case "mnt" -> LibC.CLONE_NEWNS;
            case "uts" -> LibC.CLONE_NEWUTS;
            case "ipc" -> LibC.CLONE_NEWIPC;
            case "net" -> LibC.CLONE_NEWNET;
            case "pid" -> LibC.CLONE_NEWPID;
            case "cgroup" -> LibC.CLONE_NEWCGROUP;
            default -> throw new IllegalArgumentException("unknown namespace " + name);
        };
    }

    private static String names(int flags) {
        List<String> names = new ArrayList<>();
        for (String n : List.of("mnt", "uts", "ipc", "net", "pid", "cgroup")) {
            if ((flags & flagOf(n)) != 0) names.add(n);
        }
        return String.join(",", names);
    }
}
