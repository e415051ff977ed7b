package dev.emperor.supervisor.signals;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * The daemon's signal handlers (HUP reloads, TERM and INT stop), installed even when the
 * emperor was started with the signal ignored.
 *
 * <p>Why: {@code nohup} leaves SIGHUP ignored, a shell without job control leaves SIGINT
 * ignored, and the JVM keeps an inherited "ignore" instead of installing a handler: the
 * emperor would then never reload on SIGHUP or stop on Ctrl-C. So an ignored signal is set
 * back to its default first, then handled, and the log says so. (Tenants never inherit an
 * ignored signal either way: emperor-init resets every disposition before the payload runs.)
 */
public final class DaemonSignals {
    private static final Logger log = LoggerFactory.getLogger(DaemonSignals.class);

    /** The signals the daemon handles, by name and number (x86-64 Linux). */
    public enum Handled {
        HUP(1), INT(2), TERM(15);

        final int number;

        Handled(int number) {
            this.number = number;
        }
    }

    private interface LibC extends Library {
        LibC INSTANCE = Native.load("c", LibC.class);

        /** signal(2) with SIG_DFL (a null handler): only ever used to undo an inherited SIG_IGN. */
        Pointer signal(int signum, Pointer handler);
    }

    private DaemonSignals() {}

    /** Installs {@code action} for {@code signal}, first undoing an inherited SIG_IGN. */
    public static void handle(Handled signal, Runnable action) {
        if (ignoredAtStart(signal)) {
            LibC.INSTANCE.signal(signal.number, null);
            log.warn("SIG{} was ignored when the emperor started (nohup, or a shell without job control):"
                    + " the emperor handles it anyway", signal);
        }
        Signal.handle(new Signal(signal.name()), s -> action.run());
    }

    private static boolean ignoredAtStart(Handled signal) {
        try {
            return ignored(Files.readAllLines(Path.of("/proc/self/status")), signal.number);
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether the {@code SigIgn:} mask of a /proc/PID/status text has {@code signum} set. */
    static boolean ignored(List<String> procStatus, int signum) {
        for (String line : procStatus) {
            if (line.startsWith("SigIgn:")) {
                long mask = Long.parseUnsignedLong(line.substring("SigIgn:".length()).strip(), 16);
                return (mask & (1L << (signum - 1))) != 0;
            }
        }
        return false;
    }
}
