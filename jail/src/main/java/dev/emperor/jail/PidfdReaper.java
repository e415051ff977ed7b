package dev.emperor.jail;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports when watched processes exit. One platform daemon thread waits in epoll on their
 * pidfds (a pidfd becomes readable when its process exits) and reaps each one with
 * waitid(P_PIDFD), so the emperor never calls waitpid(-1) and never reaps a process it did
 * not mean to. Callbacks run on their own virtual threads, so a slow callback delays nothing.
 */
public final class PidfdReaper implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PidfdReaper.class);
    private static final int MAX_EVENTS = 64;
    /** epoll data of the eventfd that wakes the thread for close(). */
    private static final long WAKE_KEY = 0;

    private final int epollFd;
    private final int wakeFd;
    private final Map<Long, Watch> watches = new ConcurrentHashMap<>();
    private final AtomicLong nextKey = new AtomicLong(1);
    private final Thread thread;
    private volatile boolean closed;

    private record Watch(TenantProcess process, int pidfd, Consumer<ExitStatus> onExit) {}

    public PidfdReaper() {
        LibC libc = LibC.INSTANCE;
        try {
            epollFd = libc.epoll_create1(LibC.EPOLL_CLOEXEC);
        } catch (LastErrorException e) {
            throw LibC.failure("epoll_create1", "reaper", e);
        }
        try {
            wakeFd = libc.eventfd(0, LibC.EFD_CLOEXEC);
            add(wakeFd, WAKE_KEY);
        } catch (LastErrorException e) {
            LibC.closeQuietly(epollFd);
            throw LibC.failure("eventfd", "reaper", e);
        }
        thread = Thread.ofPlatform().name("emperor-reaper").daemon(true).start(this::loop);
    }

    /**
     * Calls onExit once, with the exit status, when process p exits. The reaper keeps its own
     * duplicate of the pidfd, so p may be closed meanwhile. A process that is already dead is
     * reported at once. For an adopted process (not our child) the status is
     * {@link ExitStatus#UNKNOWN}.
     */
    public void watch(TenantProcess p, Consumer<ExitStatus> onExit) {
        if (closed) throw new IllegalStateException("reaper is closed");
        int fd = p.duplicatePidfd();
        long key = nextKey.getAndIncrement();
        watches.put(key, new Watch(p, fd, onExit));
        try {
            add(fd, key);
        } catch (LastErrorException e) {
            watches.remove(key);
            LibC.closeQuietly(fd);
            throw LibC.failure("epoll_ctl", "watch " + p, e);
        }
    }

    /** Stops the thread; pending watches are dropped without callbacks. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            LibC.INSTANCE.write(wakeFd, new byte[] {1, 0, 0, 0, 0, 0, 0, 0}, 8);
        } catch (LastErrorException e) {
            log.warn("cannot wake the reaper thread: errno {}", e.getErrorCode());
        }
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        watches.values().forEach(w -> LibC.closeQuietly(w.pidfd()));
        watches.clear();
        LibC.closeQuietly(wakeFd);
        LibC.closeQuietly(epollFd);
    }

    private void add(int fd, long key) {
        try (Memory event = new Memory(LibC.EPOLL_EVENT_SIZE)) {
            event.setInt(0, LibC.EPOLLIN);
            event.setLong(4, key);
            LibC.INSTANCE.epoll_ctl(epollFd, LibC.EPOLL_CTL_ADD, fd, event);
        }
    }

    private void loop() {
        try (Memory events = new Memory((long) LibC.EPOLL_EVENT_SIZE * MAX_EVENTS)) {
            while (!closed) {
                int n;
                try {
                    n = LibC.INSTANCE.epoll_wait(epollFd, events, MAX_EVENTS, -1);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == LibC.EINTR) continue;
                    log.error("reaper stopped: epoll_wait failed with errno {}", e.getErrorCode());
                    return;
                }
                for (int i = 0; i < n; i++) {
                    long key = events.getLong((long) i * LibC.EPOLL_EVENT_SIZE + 4);
                    if (key != WAKE_KEY) reapOne(key);
                }
            }
        }
    }

    private void reapOne(long key) {
        Watch w = watches.get(key);
        if (w == null) return;
        ExitStatus status;
        try {
            status = Pidfd.reap(w.pidfd(), false);
        } catch (JailException e) {
            log.error("cannot reap {}: {}", w.process(), e.getMessage());
            status = ExitStatus.UNKNOWN;
        }
        if (status == null) return; // readable but not yet reapable: epoll reports it again
        watches.remove(key);
        try {
            LibC.INSTANCE.epoll_ctl(epollFd, LibC.EPOLL_CTL_DEL, w.pidfd(), null);
        } catch (LastErrorException e) {
            // closing the fd below removes it from the epoll set anyway
        }
        LibC.closeQuietly(w.pidfd());
        ExitStatus finalStatus = status;
        Thread.ofVirtual().name("emperor-exit-" + w.process().tenant()).start(() -> {
            try {
                w.onExit().accept(finalStatus);
            } catch (RuntimeException e) {
                log.error("exit callback for {} failed", w.process(), e);
            }
        });
    }
}
