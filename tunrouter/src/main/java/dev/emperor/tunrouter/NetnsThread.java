package dev.emperor.tunrouter;

import com.sun.jna.LastErrorException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.Callable;

/**
 * Runs a piece of code inside another network namespace, on a fresh platform thread that enters
 * it and then dies.
 *
 * <p>{@code setns(CLONE_NEWNET)} changes only the calling thread, and a socket or tun device
 * belongs to the namespace of the thread that creates it. So a tenant's {@code tun0} is made by
 * calling {@link TunDevice#create} here; its descriptor works from any thread afterwards. The
 * thread is never reused: a pooled or long-lived thread that had changed namespace would create
 * the next socket, whoever asked for it, inside the tenant.
 */
public final class NetnsThread {
    private NetnsThread() {}

    /**
     * Enters the network namespace of {@code namespaceFile} (e.g. {@code /run/netns/NAME} or
     * {@code /proc/PID/ns/net}) on a new thread, runs {@code body} there and returns its result.
     * An exception from {@code body} is rethrown here (a checked one wrapped in a
     * {@link NetworkSetupException}).
     */
    public static <T> T call(Path namespaceFile, Callable<T> body) throws InterruptedException {
        Objects.requireNonNull(namespaceFile, "namespaceFile");
        Objects.requireNonNull(body, "body");
        LibC libc = LibC.INSTANCE;
        int nsFd;
        try {
            nsFd = libc.open(namespaceFile.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw new NetworkSetupException(LibC.describe("open network namespace " + namespaceFile, e), e);
        }
        Object[] outcome = new Object[2];
        try {
            Thread thread = Thread.ofPlatform().name("netns " + namespaceFile).unstarted(() -> {
                try {
                    libc.setns(nsFd, LibC.CLONE_NEWNET);
                } catch (LastErrorException e) {
                    outcome[1] = new NetworkSetupException(LibC.describe("setns " + namespaceFile, e), e);
                    return;
                }
                try {
                    outcome[0] = body.call();
                } catch (Throwable t) {
                    outcome[1] = t;
                }
            });
            thread.start();
            thread.join();
        } finally {
            LibC.closeQuietly(nsFd);
        }
        Throwable failure = (Throwable) outcome[1];
        if (failure instanceof RuntimeException runtime) {
            throw runtime;
        }
        if (failure instanceof Error error) {
            throw error;
        }
        if (failure != null) {
            throw new NetworkSetupException("in network namespace " + namespaceFile + ": " + failure, failure);
        }
        @SuppressWarnings("unchecked")
        T result = (T) outcome[0];
        return result;
    }
}
