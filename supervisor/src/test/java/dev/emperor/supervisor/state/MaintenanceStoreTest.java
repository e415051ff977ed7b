package dev.emperor.supervisor.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The operator's maintenance setting. */
class MaintenanceStoreTest {

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

    @Test
    void theOperatorsMaintenanceSettingIsKeptUntilForgotten() throws Exception {
        assertThat(store.maintenance().of("shop")).isEmpty();
        store.maintenance().set("shop", true);
        store.close();
        store = StateStore.open(stateDir);
        assertThat(store.maintenance().of("shop")).contains(true);
        store.maintenance().set("shop", false);
        assertThat(store.maintenance().of("shop")).contains(false);
        store.maintenance().set("shop", null);
        assertThat(store.maintenance().of("shop")).isEmpty();
    }
}
