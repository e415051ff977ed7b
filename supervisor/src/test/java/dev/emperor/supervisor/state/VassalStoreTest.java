package dev.emperor.supervisor.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Vassal rows: created by their first write, tracking process, exits and errors. */
class VassalStoreTest extends StoreTestBase {
    @Test
    void aVassalRowIsCreatedByItsFirstWriteWithDefaults() {
        assertThat(store.vassals().get("alice")).isEmpty();
        store.vassals().recordError("alice", "alice.ini line 3: unknown key 'foo'");
        VassalRow row = store.vassals().get("alice").orElseThrow();
        assertThat(row.desired()).isEqualTo(Desired.RUN);
        assertThat(row.hasProcess()).isFalse();
        assertThat(row.uid()).isEqualTo(-1);
        assertThat(row.startedAt()).isNull();
        assertThat(row.lastError()).isEqualTo("alice.ini line 3: unknown key 'foo'");
        store.vassals().recordError("alice", null);
        assertThat(store.vassals().get("alice").orElseThrow().lastError()).isNull();
    }

    @Test
    void spawnThenExitTracksTheProcessAndCountsRestarts() {
        store.vassals().recordError("alice", "spawn failed");
        store.vassals().recordSpawn("alice", 100, 5000L, "h1", 2001, 2002);
        VassalRow running = store.vassals().get("alice").orElseThrow();
        assertThat(running.hasProcess()).isTrue();
        assertThat(running.configHash()).isEqualTo("h1");
        assertThat(running.uid()).isEqualTo(2001);
        assertThat(running.gid()).isEqualTo(2002);
        assertThat(running.startedAt()).isNotNull();
        assertThat(running.lastError()).as("a successful spawn clears the error").isNull();

        store.vassals().recordExit("alice", "exited 1", true);
        store.vassals().recordSpawn("alice", 101, 5001L, "h1", 2001, 2002);
        store.vassals().recordExit("alice", "stopped by operator", false);
        VassalRow stopped = store.vassals().get("alice").orElseThrow();
        assertThat(stopped.hasProcess()).isFalse();
        assertThat(stopped.pid()).isZero();
        assertThat(stopped.pidStartTime()).isZero();
        assertThat(stopped.restarts()).isEqualTo(1);
        assertThat(stopped.lastExit()).isEqualTo("stopped by operator");
    }

    @Test
    void vassalsAreListedByName() {
        store.vassals().setDesired("carol", Desired.RUN);
        store.vassals().setDesired("alice", Desired.STOP);
        store.vassals().setDesired("bob", Desired.RUN);
        assertThat(store.vassals().all()).extracting(VassalRow::name).containsExactly("alice", "bob", "carol");
        assertThat(store.vassals().get("alice").orElseThrow().desired()).isEqualTo(Desired.STOP);
    }
}
