package dev.emperor.jail;

import com.sun.jna.LastErrorException;
import java.util.concurrent.Callable;

/**
 * Runs one spawn or enter on a fresh platform thread that may change its own namespaces.
 *
 * <p>Why a new platform thread: unshare() and setns() act on the calling kernel thread only,
 * so the JVM's other threads stay in the host's namespaces. A virtual thread would migrate
 * between carrier threads, and a pooled thread would carry a tenant's namespaces into later
 * work, so the thread is created for one job and dies after it.
 *
 * <p>Why it goes back to the host's namespaces before it finishes: whatever the thread does
 * last (finishing, waking the thread that joins it) can make the JVM start a thread from it,
 * e.g. a carrier thread for a virtual thread it wakes; a thread started from here would be
 * born in the tenant's network and mount namespaces and stay there for good.
 */
final class SetupThread {
    /** The namespaces a job may change, with the clone flag setns() expects for each. */
    private static final String[] NAMESPACES = {"mnt", "uts", "ipc", "net", "pid", "cgroup"};
    private static final int[] NAMESPACE_FLAGS = {
        LibC.CLONE_NEWNS, LibC.CLONE_NEWUTS, LibC.CLONE_NEWIPC,
        LibC.CLONE_NEWNET, LibC.CLONE_NEWPID, LibC.CLONE_NEWCGROUP
    };

    private SetupThread() {}

    /** Runs job on a new platform thread, waits for it, and returns its result or rethrows its failure. */
    static <T> T run(String name, Callable<T> job) {
        var outcome = new Object() {
            T value;
            Throwable failure;
        };
        Thread thread = Thread.ofPlatform().name(name).daemon(true).unstarted(() -> {
            try {
                outcome.value = inOwnNamespaces(job);
            } catch (Throwable t) {
                outcome.failure = t;
            }
        });
        thread.start();
        joinUninterruptibly(thread);
        if (outcome.failure instanceof RuntimeException e) throw e;
        if (outcome.failure instanceof Error e) throw e;
        if (outcome.failure != null) throw new JailException(name, outcome.failure.toString(), outcome.failure);
        return outcome.value;
    }

    private static <T> T inOwnNamespaces(Callable<T> job) throws Exception {
        LibC libc = LibC.INSTANCE;
        // Give the thread its own root and cwd: setns() into a mount namespace refuses a
        // thread that shares them with others, and this one must be able to go back.
        try {
            libc.unshare(LibC.CLONE_FS);
        } catch (LastErrorException e) {
            throw LibC.failure("unshare", "CLONE_FS", e);
        }
        // Remember the host's namespaces first, while this thread is still in them.
        int[] host = new int[NAMESPACES.length];
        java.util.Arrays.fill(host, -1);
        try {
            for (int i = 0; i < host.length; i++) {
                String path = "/proc/thread-self/ns/" + NAMESPACES[i];
                try {
                    host[i] = libc.open(path, LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
                } catch (LastErrorException e) {
                    throw LibC.failure("open namespace", path, e);
                }
            }
            try {
                return job.call();
            } finally {
                returnTo(host);
            }
        } finally {
            for (int fd : host) LibC.closeQuietly(fd);
        }
    }

    private static void returnTo(int[] host) {
        for (int i = 0; i < host.length; i++) {
            try {
                LibC.INSTANCE.setns(host[i], NAMESPACE_FLAGS[i]);
            } catch (LastErrorException e) {
                // Cannot happen for root with valid fds; if it did, this thread must not run on.
                throw new IllegalStateException("cannot return spawn thread to the host "
                        + NAMESPACES[i] + " namespace: errno " + e.getErrorCode(), e);
            }
        }
    }

    private static void joinUninterruptibly(Thread thread) {
        // The job may already have spawned a process; the caller must see how it ended.
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }
}
