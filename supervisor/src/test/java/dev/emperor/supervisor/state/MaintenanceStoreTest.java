package dev.emperor.supervisor.state;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The operator's maintenance setting. */
class MaintenanceStoreTest extends StoreTestBase {
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
