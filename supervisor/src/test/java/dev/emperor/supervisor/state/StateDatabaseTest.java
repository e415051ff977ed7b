package dev.emperor.supervisor.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The database core on its own: migrations, all-or-nothing transactions, and the three kinds of
 * writes while the database refuses writes. SQLite's {@code query_only} pragma makes every write
 * fail with SQLITE_READONLY, the condition of a read-only state directory (a full one is
 * StateStoreFullDiskTest's, on a real tmpfs).
 */
class StateDatabaseTest {
    @TempDir
    Path tmp;

    StateDatabase db;

    @BeforeEach
    void open() throws Exception {
        db = StateDatabase.open(tmp.resolve("state"));
    }

    @AfterEach
    void close() {
        db.close();
    }

    @Test
    void migratesToTheSchemaVersionOnceAndReopensWithoutRedoingIt() throws Exception {
        assertThat(db.schemaVersion()).isEqualTo(StateSchema.version()).isEqualTo(11);
        db.close();
        db = StateDatabase.open(tmp.resolve("state")); // a second CREATE TABLE would fail
        assertThat(db.schemaVersion()).isEqualTo(11);
    }

    @Test
    void aTransactionIsAllOrNothing() {
        assertThatThrownBy(() -> db.transaction("adding two", c -> {
            Sql.update(c, "INSERT INTO retired (name, retired_at) VALUES ('a', 1)");
            return Sql.update(c, "INSERT INTO retired (name, retired_at) VALUES ('a', 2)"); // primary key
        })).isInstanceOf(StateException.class).isNotInstanceOf(StateNotWritable.class)
                .hasMessageStartingWith("state database: adding two failed:");
        assertThat(count("retired")).isZero();
    }

    @Test
    void aRecordThatBreaksAConstraintFailsAtOnceAndIsNotKept() {
        assertThatThrownBy(() -> db.record("a bad record", false,
                c -> Sql.update(c, "INSERT INTO acme_retries (name, failures, not_before, recorded_at) VALUES ('a', 0, 0, 0)")))
                .isInstanceOf(StateException.class);
        assertThat(db.deferredCount()).isZero();
        assertThat(db.health()).isEqualTo("ok");
        assertThat(count("acme_retries")).isZero();
    }

    @Test
    void whileWritesAreRefusedRecordsWaitInOrderAndDurableWritesAreRefused() {
        AtomicInteger writableAgain = new AtomicInteger();
        db.onWritableAgain(writableAgain::incrementAndGet);
        setQueryOnly(true);

        db.record("first", false, c -> Sql.update(c, "INSERT INTO retired (name, retired_at) VALUES ('a', 1)"));
        // changes the first one's row: only written after it does it leave 2 (before it, it changes nothing)
        db.record("second", false, c -> Sql.update(c, "UPDATE retired SET retired_at = 2 WHERE name = 'a'"));
        assertThat(db.deferredCount()).isEqualTo(2);
        assertThat(db.health()).startsWith("state directory is read-only (" + tmp.resolve("state") + "): first failed:")
                .contains("2 records wait in memory");
        assertThatThrownBy(() -> db.durable("a new uid", c -> Sql.update(c,
                "INSERT INTO uids (uid, name, current, allocated_at) VALUES (5, 'b', 1, 0)")))
                .isInstanceOf(StateNotWritable.class)
                .hasMessageContaining("a new uid waits for 2 earlier records to be written");
        assertThatThrownBy(() -> db.immediate("the operator's word", "writing", c -> Sql.update(c,
                "INSERT INTO maintenance (name, enabled, set_at) VALUES ('b', 1, 0)")))
                .isInstanceOf(StateNotWritable.class)
                .hasMessageContaining("the operator's word waits for 2 earlier records");
        assertThat(writableAgain).hasValue(0);

        setQueryOnly(false);
        db.retryDeferred();
        assertThat(db.deferredCount()).isZero();
        assertThat(db.health()).isEqualTo("ok");
        assertThat(writableAgain).hasValue(1);
        long retiredAt = db.read("reading", c -> Sql.one(c, "SELECT retired_at FROM retired WHERE name = 'a'",
                rs -> rs.getLong(1))).orElseThrow();
        assertThat(retiredAt).as("the records were written in order").isEqualTo(2L);
        assertThat(count("uids")).as("the refused durable write was not kept").isZero();
    }

    private void setQueryOnly(boolean on) {
        db.read("setting query_only", c -> {
            try (var st = c.createStatement()) {
                st.execute("PRAGMA query_only = " + (on ? 1 : 0));
            }
            return null;
        });
    }

    private int count(String table) {
        return db.read("counting", c -> Sql.one(c, "SELECT count(*) FROM " + table, rs -> rs.getInt(1))).orElseThrow();
    }
}
