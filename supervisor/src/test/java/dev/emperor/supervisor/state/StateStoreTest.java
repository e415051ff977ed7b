package dev.emperor.supervisor.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;

/** Opening the state database: its directory, WAL, schema version and migrations. */
class StateStoreTest extends StoreTestBase {
    @Test
    void createsAPrivateStateDirectoryHoldingTheDatabase() throws Exception {
        assertThat(Files.isRegularFile(stateDir.resolve("emperor.db"))).isTrue();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(stateDir))).isEqualTo("rwx------");
    }

    @Test
    void usesWalAndAVersionedSchema() {
        assertThat(store.journalMode()).isEqualToIgnoringCase("wal");
        assertThat(store.schemaVersion()).isEqualTo(11);
    }

    @Test
    void committedDataIsSeenAfterReopening() throws Exception {
        store.vassals().recordSpawn("alice", 4242, 987654L, "hash1", 2001, 2001);
        store.events().record("alice", EventKind.SPAWN, "pid 4242");
        int uid = store.uids().allocate("alice", 2001, 2999);
        store.close();

        store = StateStore.open(stateDir);
        VassalRow alice = store.vassals().get("alice").orElseThrow();
        assertThat(alice.pid()).isEqualTo(4242);
        assertThat(alice.pidStartTime()).isEqualTo(987654L);
        assertThat(store.events().newest("alice", 10)).extracting(EventRow::detail).containsExactly("pid 4242");
        assertThat(store.uids().allocate("alice", 2001, 2999)).isEqualTo(uid);
        assertThat(store.schemaVersion()).isEqualTo(11);
    }

    @Test
    void anotherOpenStoreSeesCommittedWritesImmediately() throws Exception {
        // A second connection stands in for a restarted emperor: nothing waits in a buffer.
        try (StateStore other = StateStore.open(stateDir)) {
            store.vassals().setDesired("bob", Desired.STOP);
            assertThat(other.vassals().get("bob").orElseThrow().desired()).isEqualTo(Desired.STOP);
        }
    }

    @Test
    void refusesADatabaseFromANewerEmperor() throws Exception {
        store.close();
        try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + stateDir.resolve("emperor.db"));
                var st = c.createStatement()) {
            st.executeUpdate("PRAGMA user_version = 99");
        }
        assertThatThrownBy(() -> StateStore.open(stateDir))
                .hasMessageContaining("schema version 99");
        store = StateStore.open(tmp.resolve("other"));
    }
}
