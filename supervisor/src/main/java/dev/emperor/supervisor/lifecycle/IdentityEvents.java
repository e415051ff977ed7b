package dev.emperor.supervisor.lifecycle;

import dev.emperor.supervisor.identity.Retention;
import dev.emperor.supervisor.state.EventKind;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What a vassal's file coming and going means for its tenant's identity, recorded and said in its events. */
final class IdentityEvents {
    private static final Logger log = LoggerFactory.getLogger(Vassal.class); // the vassal's own log lines, as before
    private final String name;
    private final VassalContext ctx;

    IdentityEvents(String name, VassalContext ctx) {
        this.name = name;
        this.ctx = ctx;
    }

    /**
     * The name's file is here (valid or not): a retired tenant of this name is retired no more
     * and gets everything it had; a name with nothing recorded is a new tenant, given a fresh
     * uid, address and home when it first runs. Said in its events either way.
     */
    void arrived() {
        switch (ctx.records().arrive(name)) {
            case RESTORED -> {
                said("restored (same tenant): its file came back within retention; its uid, address,"
                        + " public ports, domains, home and disk image are its own again");
                log.info("vassal {}: restored (same tenant) within retention", name);
            }
            case NEW -> said("new tenant (fresh identity)");
            case KNOWN -> { }
        }
    }

    /**
     * The file is gone and the tenant stopped: it is retired, not forgotten. Its identity and
     * data stay reserved for its name until `emperor purge` or the end of retention, so a name
     * reused for someone else never inherits them silently (see docs/SECURITY.md).
     */
    void retired() {
        Instant now = ctx.clock().instant();
        if (!ctx.records().retire(name, now)) return; // retired already: its first retirement time stands
        Duration retain = ctx.settings().retain();
        said("retired: its uid, address, public ports, domains, home and disk image stay reserved for "
                + name + " until " + Retention.shown(Retention.expiresAt(now, retain))
                + " (retain " + Retention.describe(retain) + "); a file of this name before then is the same tenant; `emperor purge "
                + name + "` deletes them now");
    }

    private void said(String detail) {
        ctx.records().event(name, EventKind.IDENTITY, detail);
    }
}
