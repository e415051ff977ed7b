package dev.emperor.supervisor.logs;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads every tenant's log pipe on one platform thread that waits in epoll (level-triggered).
 * Each ready pipe gets one read of at most {@link #READ_BYTES} per round, so a tenant that
 * floods its pipe is served in turn with the others and never starves them; what it writes
 * over its rate is dropped right here, before it costs disk; and past its read budget
 * ({@link TenantLogStream#readBudgetPerSecond()}) its pipe is left alone until the next tick,
 * so that its writes wait instead of costing the emperor more CPU. The tenant's lines go to
 * its own file under its own lock: nothing here waits on another tenant's lifecycle.
 */
final class LogPump implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LogPump.class);
    static final int READ_BYTES = 64 * 1024;
    private static final int MAX_EVENTS = 64;
    private static final int TICK_MILLIS = 250;
    /** On stop, at most this much is still read from each pipe (a tenant may keep writing). */
    private static final int DRAIN_ON_STOP_BYTES = LogPipe.CAPACITY;

    private final LogSys sys = LogSys.INSTANCE;
    private final int epollFd;
    private final int wakeFd;
    private final Memory events = new Memory((long) MAX_EVENTS * LogSys.EPOLL_EVENT_SIZE);
    private final Memory readBuffer = new Memory(READ_BYTES);
    private final byte[] bytes = new byte[READ_BYTES];
    private final Memory eventfdValue = new Memory(8);
    private final ConcurrentLinkedQueue<Runnable> commands = new ConcurrentLinkedQueue<>();
    /** Read fd -> stream; the pump thread's alone. */
    private final Map<Integer, TenantLogStream> streams = new HashMap<>();
    private final Thread thread;
    private volatile boolean stopping;
    private long lastTick = System.nanoTime();

    LogPump() throws IOException {
        try {
            epollFd = sys.epoll_create1(LogSys.EPOLL_CLOEXEC);
        } catch (LastErrorException e) {
            throw new IOException("epoll_create1 for the log pump: " + e.getMessage(), e);
        }
        try {
            wakeFd = sys.eventfd(0, LogSys.EFD_CLOEXEC | LogSys.EFD_NONBLOCK);
            control(LogSys.EPOLL_CTL_ADD, wakeFd);
        } catch (LastErrorException e) {
            LogSys.closeQuietly(epollFd);
            throw new IOException("eventfd for the log pump: " + e.getMessage(), e);
        }
        thread = Thread.ofPlatform().name("emperor-logs").daemon().start(this::run);
    }

    /** Starts reading the stream's pipe. */
    void add(TenantLogStream stream) {
        submit(() -> {
            control(LogSys.EPOLL_CTL_ADD, stream.pipe().readFd());
            streams.put(stream.pipe().readFd(), stream);
        });
    }

    /** Runs {@code command} on the pump thread (which alone touches the epoll set), soon. */
    private void submit(Runnable command) {
        commands.add(command);
        try (Memory one = new Memory(8)) {
            one.setLong(0, 1);
            sys.write(wakeFd, one, 8);
        } catch (LastErrorException e) {
            log.error("log pump: cannot wake: {}", e.getMessage()); // the next tick runs it
        }
    }

    private void run() {
        try {
            while (!stopping) {
                int ready;
                try {
                    ready = sys.epoll_wait(epollFd, events, MAX_EVENTS, TICK_MILLIS);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == LogSys.EINTR) continue;
                    log.error("log pump stops: epoll_wait: {}", e.getMessage());
                    return;
                }
                for (int i = 0; i < ready; i++) {
                    int fd = (int) events.getLong((long) i * LogSys.EPOLL_EVENT_SIZE + 4);
                    if (fd == wakeFd) {
                        drainWake();
                    } else {
                        TenantLogStream stream = streams.get(fd);
                        if (stream == null) continue;
                        try {
                            if (readOnce(stream) == Read.ENDED) remove(stream);
                        } catch (RuntimeException e) {
                            // one tenant's broken pipe must not stop everyone's logs
                            log.error("vassal {}: its log pipe fails: {}", stream.name(), e.toString());
                            remove(stream);
                        }
                    }
                }
                runCommands();
                long now = System.nanoTime();
                if (now - lastTick >= TICK_MILLIS * 1_000_000L) {
                    lastTick = now;
                    for (TenantLogStream stream : streams.values()) {
                        tick(stream, now);
                        stream.readThisTick = 0;
                        if (stream.paused) {
                            stream.paused = false;
                            try {
                                control(LogSys.EPOLL_CTL_ADD, stream.pipe().readFd());
                            } catch (RuntimeException e) {
                                log.error("vassal {}: its log pipe fails: {}", stream.name(), e.toString());
                            }
                        }
                    }
                }
            }
        } finally {
            runCommands();
            for (TenantLogStream stream : streams.values()) stopReading(stream);
            streams.clear();
        }
    }

    private enum Read { DATA, NOTHING, ENDED }

    private void runCommands() {
        for (Runnable command; (command = commands.poll()) != null; ) {
            try {
                command.run();
            } catch (RuntimeException e) {
                log.error("log pump: {}", e.toString());
            }
        }
    }

    /** One read of the pipe, its lines to the file. */
    private Read readOnce(TenantLogStream stream) {
        int fd = stream.pipe().readFd();
        long n;
        try {
            n = sys.read(fd, readBuffer, READ_BYTES);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == LogSys.EAGAIN || e.getErrorCode() == LogSys.EINTR) return Read.NOTHING;
            log.error("vassal {}: reading its log pipe: {}", stream.name(), e.getMessage());
            return Read.ENDED;
        }
        if (n == 0) return Read.ENDED;
        readBuffer.read(0, bytes, 0, (int) n);
        stream.readThisTick += n;
        if (!stream.paused && !stopping && stream.readThisTick >= stream.readBudgetPerSecond() * TICK_MILLIS / 1000) {
            stream.paused = true;
            control(LogSys.EPOLL_CTL_DEL, fd);
        }
        try {
            stream.consume(bytes, (int) n, System.nanoTime());
        } catch (IOException | RuntimeException e) {
            log.warn("vassal {}: cannot write its log: {}", stream.name(), e.toString());
        }
        return Read.DATA;
    }

    private void tick(TenantLogStream stream, long now) {
        try {
            stream.tick(now);
        } catch (IOException | RuntimeException e) {
            log.warn("vassal {}: cannot write its log: {}", stream.name(), e.toString());
        }
    }

    /** The pipe's writers are all gone: what is left is written, the pipe closed. */
    private void remove(TenantLogStream stream) {
        streams.remove(stream.pipe().readFd());
        stopReading(stream);
    }

    /** Reads what is already in the pipe (bounded), writes the unfinished line, closes the emperor's ends. */
    private void stopReading(TenantLogStream stream) {
        for (int drained = 0; drained < DRAIN_ON_STOP_BYTES && readOnce(stream) == Read.DATA; drained += READ_BYTES) {
            // keep reading
        }
        if (!stream.paused) {
            try {
                control(LogSys.EPOLL_CTL_DEL, stream.pipe().readFd());
            } catch (RuntimeException e) {
                log.warn("vassal {}: {}", stream.name(), e.getMessage());
            }
        }
        try {
            stream.finish(System.nanoTime());
        } catch (IOException | RuntimeException e) {
            log.warn("vassal {}: cannot write its log: {}", stream.name(), e.toString());
        }
        stream.pipe().close();
    }

    private void drainWake() {
        try {
            sys.read(wakeFd, eventfdValue, 8);
        } catch (LastErrorException e) {
            // EAGAIN: another wake-up already took it
        }
    }

    private void control(int op, int fd) {
        try (Memory event = new Memory(LogSys.EPOLL_EVENT_SIZE)) {
            event.clear();
            event.setInt(0, LogSys.EPOLLIN);
            event.setLong(4, fd);
            sys.epoll_ctl(epollFd, op, fd, event);
        } catch (LastErrorException e) {
            throw new IllegalStateException("epoll_ctl " + op + " fd " + fd + ": " + e.getMessage(), e);
        }
    }

    /**
     * Stops reading: each pipe's pending bytes (up to its capacity) are written first. The
     * pipes' ends are closed here, while a tenant's pid 1 keeps its own, for the next emperor.
     */
    @Override
    public void close() {
        stopping = true;
        submit(() -> {});
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LogSys.closeQuietly(wakeFd);
        LogSys.closeQuietly(epollFd);
    }
}
