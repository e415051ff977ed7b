package dev.emperor.supervisor.state;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** A state store of its own in a fresh directory for each test, closed after it. */
abstract class StoreTestBase {
    @TempDir
    Path tmp;

    Path stateDir;
    StateStore store;

    @BeforeEach
    void open() throws Exception {
        stateDir = tmp.resolve("state");
        store = StateStore.open(stateDir);
    }

    @AfterEach
    void close() {
        store.close();
    }
}
